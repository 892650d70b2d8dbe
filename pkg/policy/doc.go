// Package policy is the run policy of a jail: how it asks to be run beyond
// what an OCI image config can say (the directories jailimg run mounts for
// it to write, /dev/log, host files, rlimits, seccomp, Landlock, network,
// pid and IPC namespaces, umask, the check findings it accepts). It is the
// one data type both sides share: a recipe's `run:` section decodes into a
// Policy (package recipe), the build stores it in the image config label
// Label (package build), and the deploy side reads it back from an
// unpacked bundle's config (packages bundle, run and check).
//
// Guarantees: the label holds the Policy as encoding/json writes it, fields
// left at their zero value omitted, so that an image's digest depends only
// on what the recipe asks for; FromConfig reads an image with no label as a
// zero Policy, and a label that does not decode is an error naming it. A
// zero Policy is the confined one: seccomp and Landlock on, private pid and
// IPC namespaces; every way out of that is an explicit value that OptOuts
// lists.
//
// The package checks nothing the fields say: package recipe validates a
// recipe's policy and package run refuses values it cannot apply.
package policy
