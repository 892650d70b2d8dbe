// Package lint holds checks of the module's own source that go test runs,
// so that CI keeps them: the cyclomatic complexity of every function.
//
// Complexity counts as gocyclo does: 1, plus one for each if, for and range
// statement, each case of a switch, type switch or select but the default,
// and each && and ||. A function literal counts in the function declaring
// it. The module's test (TestModuleComplexity) fails for any function
// above MaxComplexity outside _test.go files, testdata and hidden
// directories, listing each as file:line function complexity.
package lint
