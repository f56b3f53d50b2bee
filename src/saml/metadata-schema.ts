/**
 * Validation of a metadata document against the SAML 2.0 metadata schema
 * (saml-schema-metadata-2.0.xsd, OASIS, March 2005), with libxml2 compiled to JavaScript, so
 * neither Java nor a native binary is needed (issue "Step 5").
 *
 * `@authenio/samlify-node-xmllint` bundles the assertion, protocol, xmldsig and xenc schemas but
 * not the metadata schema, and its `validate()` always validates against the protocol schema. So
 * this module hands the engine it wraps (`node-xmllint`, resolved through that package, whose
 * dependency it is) those bundled schemas plus the metadata schema kept in `schemas/`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface Xmllint {
  validateXML(options: { xml: string; schema: string[] }): { errors: string[] | null };
}

const require = createRequire(import.meta.url);
const bundled = createRequire(require.resolve('@authenio/samlify-node-xmllint'));
/**
 * The engine, loaded at the first validation: its memory (some 40 MB of RSS) is needed only when
 * metadata is checked (`stepup sp add`), never by a server at rest (issue 10's memory goal).
 */
let xmllint: Xmllint | undefined;
const bundledSchema = (name: string) => (bundled(`./schemas/${name}.js`) as { default: string }).default;

/**
 * The schemas in the order the engine writes them to its virtual file system (`file_0.xsd`, …);
 * each import's schemaLocation is pointed at its file there. The last is the one validated against.
 */
function schemaFiles(): string[] {
  const local = (name: string) => readFileSync(new URL(`./schemas/${name}`, import.meta.url), 'utf8');
  const files = ['saml-schema-assertion-2.0.xsd', 'xmldsig-core-schema.xsd', 'xenc-schema.xsd', 'xml.xsd'];
  const point = (text: string) => files.reduce((out, name, i) => out.replace(new RegExp(`schemaLocation=(["'])${name.replaceAll('.', '\\.')}\\1`, 'g'), `schemaLocation="file_${i}.xsd"`), text);
  return [
    point(bundledSchema('saml-schema-assertion-2.0.xsd')),
    bundledSchema('xmldsig-core-schema.xsd'),
    point(bundledSchema('xenc-schema.xsd')),
    local('xml.xsd'),
    point(local('saml-schema-metadata-2.0.xsd')),
  ];
}

let schemas: string[] | undefined;

/**
 * Validates `xml` against the SAML 2.0 metadata schema. Returns the schema errors, each as
 * `line N: message`; empty when the document is valid. The caller refuses a DOCTYPE first: the
 * engine is libxml2 and would expand entities.
 */
export function validateMetadataSchema(xml: string): string[] {
  schemas ??= schemaFiles();
  const files = schemas;
  xmllint ??= bundled('node-xmllint') as Xmllint;
  const engine = xmllint;
  // The engine is an Emscripten program run to its exit on every call, which in Node (1) prints
  // " " to stdout (`stepup --json` output must stay JSON), (2) adds a listener that calls
  // process.exit when stdout next drains, and (3) adds an uncaughtException listener. The call
  // is synchronous, so stdout is silenced and the listeners it added are removed before anything
  // else runs.
  const write = process.stdout.write;
  const drainBefore = new Set(process.stdout.listeners('drain'));
  const uncaughtBefore = new Set(process.listeners('uncaughtException'));
  process.stdout.write = () => true;
  let errors: string[] | null;
  try {
    ({ errors } = engine.validateXML({ xml, schema: files }));
  } catch (error) {
    return [`the schema validator failed: ${error instanceof Error ? error.message : String(error)}`];
  } finally {
    process.stdout.write = write;
    for (const listener of process.stdout.listeners('drain')) {
      if (!drainBefore.has(listener)) process.stdout.removeListener('drain', listener as () => void);
    }
    for (const listener of process.listeners('uncaughtException')) {
      if (!uncaughtBefore.has(listener)) process.removeListener('uncaughtException', listener);
    }
  }
  return (errors ?? []).map((line) => line.replace(/^file_0\.xml:(\d+): (?:element \S+: )?(?:Schemas validity error : )?/, 'line $1: '));
}
