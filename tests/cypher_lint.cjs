// Lints Cypher statements with Neo4j's own front end (parser and semantic analysis).
//   node cypher_lint.cjs PREFIX STATEMENTS.json
// PREFIX is the folder @neo4j-cypher/language-support was installed into; STATEMENTS.json holds
// a list of statement texts. Prints one list of diagnostics per statement, as JSON.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const [prefix, input] = process.argv.slice(2);
const ls = createRequire(path.join(path.resolve(prefix), 'package.json'))(
  '@neo4j-cypher/language-support',
);
// Neo4j's built-in functions and procedures, and no labels, types, properties or parameters:
// the statements name only what they create, and their values come as parameters.
const schema = {
  ...ls.testData.mockSchema,
  labels: [],
  relationshipTypes: [],
  propertyKeys: [],
  parameters: {},
};
const statements = JSON.parse(fs.readFileSync(input, 'utf8'));
const out = statements.map((statement) =>
  ls.lintCypherQuery(statement, schema).diagnostics.map((d) => ({
    severity: d.severity,
    message: d.message,
    start: d.offsets.start,
    end: d.offsets.end,
  })),
);
process.stdout.write(JSON.stringify(out));
