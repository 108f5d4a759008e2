package responder

// PromisesAction exposes promisesAction to the tests.
var PromisesAction = promisesAction
