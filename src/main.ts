#!/usr/bin/env node
/**
 * `npm start`: runs the esimkit service on the embedded default. The service arrives with a later issue;
 * until then this says so and exits 0.
 */
console.log('esimkit: nothing to start yet (the service and the software eUICC come with later issues).');
console.log('Run the tests with `npm test`; see docs in README.md.');
