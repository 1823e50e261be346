package bi

// NextRun exposes the schedule arithmetic to the tests.
var NextRun = nextRun
