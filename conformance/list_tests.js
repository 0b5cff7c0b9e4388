// Print, as JSON, every test the ADL suite would run for one test folder, in run order:
// [{"path": [suite titles], "title": "..."}]. It loads the test files with the suite's own mocha
// and runs nothing, so the run log can be checked for tests that never ran.
// Usage: node list_tests.js SUITE_DIR TEST_FOLDER [GREP]
'use strict';
const fs = require('fs');
const path = require('path');

const [suiteDir, folder, grep] = process.argv.slice(2);
process.chdir(suiteDir);  // the suite's helpers read their configs relative to its root
process.env.DIRECTORY = folder;
process.env.LRS_ENDPOINT = 'http://127.0.0.1:9/xapi';  // read at load time, never contacted

const Mocha = require(path.join(suiteDir, 'node_modules', 'mocha'));
const mocha = new Mocha({ ui: 'bdd' });
const testDir = path.join(suiteDir, 'test', folder);
fs.readdirSync(testDir).filter(f => f.endsWith('.js')).forEach(f => mocha.addFile(path.join(testDir, f)));
mocha.loadFiles();

const pattern = grep ? new RegExp(grep) : null;  // the runner greps full titles the same way
const tests = [];
(function walk(suite, trail) {
  const here = suite.root ? trail : trail.concat([suite.title]);
  suite.tests
    .filter(t => !t.pending)  // pending tests never start, so they can never pass: not listed
    .forEach(t => { if (!pattern || pattern.test(t.fullTitle())) tests.push({ path: here, title: t.title }); });
  suite.suites.forEach(s => walk(s, here));
})(mocha.suite, []);
process.stdout.write(JSON.stringify(tests));
