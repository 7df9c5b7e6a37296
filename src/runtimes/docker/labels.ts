/**
 * The labels every Ocelot container carries. They are the only link between a container and its build, so the
 * sweeper can find leftovers of a werker that died (SIGKILL, OOM, host reboot) without any state of its own.
 */
export const LABEL_MANAGED = 'ocelot.managed';
export const LABEL_BUILD = 'ocelot.build';
export const LABEL_ATTEMPT = 'ocelot.attempt';
export const LABEL_WERKER = 'ocelot.werker';
/** Set on containers the user asked to keep for debugging; the sweeper leaves them alone. */
export const LABEL_KEEP = 'ocelot.keep';

export interface BuildLabelInput {
  buildId: number;
  attempt: number;
  werkerId: string;
  keep: boolean;
}

export function buildLabels(input: BuildLabelInput): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL_MANAGED]: 'true',
    [LABEL_BUILD]: String(input.buildId),
    [LABEL_ATTEMPT]: String(input.attempt),
    [LABEL_WERKER]: input.werkerId,
  };
  if (input.keep) labels[LABEL_KEEP] = 'true';
  return labels;
}
