package check

// ImageAcceptable lists the kinds an image's own policy may accept, for the
// test that keeps it equal to recipe.AcceptKinds.
var ImageAcceptable = imageAcceptable
