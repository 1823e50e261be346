// The browser end-to-end suite is not written yet (issue 6); say so rather than pass quietly.
console.log('e2e: skipped: the browser end-to-end suite is not written yet (issue 6)');
