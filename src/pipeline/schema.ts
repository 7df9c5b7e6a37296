/**
 * JSON Schema (draft-07) of ocelot.yml, for editors (completion, hover text, red squiggles). The committed
 * copy in schema/ocelot.schema.json is this object serialized; a test fails if the two differ. The engine's
 * own validation (validate.ts) is stricter in meaning (regexes compile, triggers parse) and a test checks
 * that both accept and reject the same fixture files.
 */

const stringList = (description: string) => ({
  description,
  type: ['array', 'null'],
  items: { type: 'string' },
});

const env = {
  description:
    'Environment variables, either a list of "NAME=value" strings (the original form; values may span lines) ' +
    'or a mapping NAME: value. Later entries can refer to earlier ones ($NAME).',
  anyOf: [
    { type: 'null' },
    { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*=' } },
    {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
    },
  ],
};

export const pipelineSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://ocelot-ci.dev/schema/ocelot.schema.json',
  title: 'ocelot.yml',
  description: 'Pipeline file of the Ocelot CI, read from the root of the repository at the commit being built.',
  type: 'object',
  additionalProperties: false,
  required: ['buildTool', 'stages'],
  // Container-only keys: without an image there is no container to limit or to mount the socket into.
  dependencies: { resources: ['image'], dockerSocket: ['image'] },
  properties: {
    image: {
      description: 'Docker image the build runs in (docker runtime). Without image and machineTag the build runs on the host.',
      type: 'string',
      minLength: 1,
    },
    machineTag: {
      description: 'Run only on werkers started with this tag. May be combined with image.',
      type: 'string',
      minLength: 1,
    },
    buildTool: {
      description: 'Required. Free text naming the build tool, e.g. go, maven, node.',
      type: 'string',
      minLength: 1,
    },
    branches: stringList(
      'Branches that build. Each entry is a regular expression matched against the whole branch name; ALL ' +
        'matches every branch. Absent or empty: every branch builds. Pull requests match their target ' +
        'branch; tag builds are never filtered.',
    ),
    env,
    resources: {
      description:
        'Resource limits of the build container (needs image). Each value is lowered to the werker\'s ceiling ' +
        'when it asks for more; a value left out takes the ceiling.',
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        memory: {
          description: 'Memory limit: a size like "512m", "2g" (binary units, as docker run -m) or a number of bytes. At least 6 MiB.',
          anyOf: [
            { type: 'integer', minimum: 6291456 },
            { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*[bBkKmMgGtT]?([iI]?[bB])?\\s*$' },
            { type: 'null' },
          ],
        },
        cpus: { description: 'CPUs the build may use, fractions allowed (1.5).', type: ['number', 'null'], exclusiveMinimum: 0 },
        pids: { description: 'Most processes the container may hold.', type: ['integer', 'null'], minimum: 1 },
      },
    },
    dockerSocket: {
      description:
        'Ask for the Docker engine socket at /var/run/docker.sock (needs image), e.g. to docker build an image. ' +
        'Granted only on werkers whose operator allows it; elsewhere the build fails in setup with the reason. ' +
        'Whoever holds the socket is root on the werker host.',
      type: ['boolean', 'null'],
    },
    packages: { description: 'Legacy key from the original Ocelot; accepted and ignored.' },
    stages: {
      description: 'Stages, run in order in one workspace. The first failing stage fails the build.',
      type: 'array',
      minItems: 1,
      items: { $ref: '#/definitions/stage' },
    },
    notify: {
      description: 'Notifications after the build.',
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        slack: {
          description: 'Post the result to Slack.',
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['identifier'],
          properties: {
            channel: { description: 'Channel or user, e.g. "#builds" or "@someone".', type: 'string', minLength: 1 },
            identifier: { description: 'Name of the Slack webhook credential.', type: 'string', minLength: 1 },
            on: {
              description: 'Outcomes to notify about (case-insensitive). Absent: both.',
              type: ['array', 'null'],
              items: { type: 'string', pattern: '^\\s*([Pp][Aa][Ss][Ss]|[Ff][Aa][Ii][Ll])\\s*$' },
            },
          },
        },
      },
    },
  },
  definitions: {
    stage: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'script'],
      properties: {
        name: { description: 'Stage name; need not be unique.', type: ['string', 'number', 'boolean'], minLength: 1 },
        script: {
          description:
            'Commands, one per item. All items run in ONE bash with errexit: the first failing command fails the ' +
            'stage. No pipefail unless you add `set -o pipefail` as an item.',
          type: 'array',
          minItems: 1,
          items: { type: ['string', 'number', 'boolean'] },
        },
        env,
        trigger: {
          description: 'Legacy condition: run only on these branches (regular expressions). Ignored when triggers is present.',
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { branches: stringList('Branch regular expressions; empty = no restriction.') },
        },
        triggers: {
          description:
            'Conditions in the trigger language; the stage runs if any string holds. Example: ' +
            '"\\branch main||release/.* and \\filepath deploy/". Keywords: \\branch, \\text, \\filepath; ' +
            '|| (any) or && (all) between values; and binds tighter than or.',
          type: ['array', 'null'],
          items: { type: 'string', minLength: 1 },
        },
        timeout: {
          description: 'Stage timeout: seconds as a number, or a string like "90s", "10m", "1h30m".',
          anyOf: [
            { type: 'number', exclusiveMinimum: 0 },
            { type: 'string', pattern: '^(?=.*\\d)\\s*(\\d+(\\.\\d+)?|(\\d+[hH])?\\s*(\\d+[mM])?\\s*(\\d+[sS])?)\\s*$' },
            { type: 'null' },
          ],
        },
      },
    },
  },
} as const;
