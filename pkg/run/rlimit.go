package run

import (
	"slices"

	"golang.org/x/sys/unix"
)

// rlimitNames maps the Policy.Rlimits names to setrlimit(2) resources, as
// ulimit(1) -t -n -u -f -v -c -d -s -l set them.
var rlimitNames = map[string]int{
	"cpu":     unix.RLIMIT_CPU,
	"nofile":  unix.RLIMIT_NOFILE,
	"nproc":   unix.RLIMIT_NPROC,
	"fsize":   unix.RLIMIT_FSIZE,
	"as":      unix.RLIMIT_AS,
	"core":    unix.RLIMIT_CORE,
	"data":    unix.RLIMIT_DATA,
	"stack":   unix.RLIMIT_STACK,
	"memlock": unix.RLIMIT_MEMLOCK,
}

func rlimitList() []string {
	var names []string
	for k := range rlimitNames {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
