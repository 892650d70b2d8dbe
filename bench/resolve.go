package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const loader = "/lib64/ld-linux-x86-64.so.2"

// resolve compares one `jailimg resolve` over every dynamic ELF executable
// of /usr/bin and /usr/sbin with the loader's --list and ldd run on each in
// turn, from a shell loop as a user would write it.
func (b *bench) resolve() error {
	bins, dropped, err := dynamicELF(b.bin, "/usr/bin", "/usr/sbin")
	if err != nil {
		return err
	}
	list := filepath.Join(b.work, "resolve.list")
	if err := os.WriteFile(list, []byte(strings.Join(bins, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	b.facts["resolve"] = append(b.facts["resolve"], fmt.Sprintf(
		"%d dynamic ELF executables (regular files with PT_INTERP %s, symlinks not followed) of /usr/bin and /usr/sbin; %d left out because `ld.so --list` or `jailimg resolve` fails on them (a library missing on this host).",
		len(bins), loader, dropped))
	g := &Group{
		Section: "resolve", Name: "all of /usr/bin and /usr/sbin", Short: "resolve", Runs: b.runsSmall,
		Tools: []*Tool{
			{Name: "jailimg resolve", Argv: append([]string{b.bin, "resolve"}, bins...)},
			{Name: "ld.so --list loop", Argv: sh(fmt.Sprintf(`while read -r f; do %s --list "$f" >/dev/null; done < %s`, loader, list))},
			{Name: "ldd loop", Argv: sh(fmt.Sprintf(`while read -r f; do ldd "$f" >/dev/null; done < %s`, list))},
		},
		Targets: []Target{
			{Peer: "ld.so --list loop", Max: 1.0 / 3, Text: "≥ 3× faster (≤ 0.33×)"},
			{Peer: "ldd loop", Max: 1.0 / 45, Text: "≈ 45× faster (≤ 0.022×)"},
		},
	}
	g.Run()
	b.groups = append(b.groups, g)
	return nil
}

// dynamicELF lists the regular files of dirs that are ELF with the x86-64
// loader as interpreter and that both the loader and jailimg resolve; it
// counts the ones dropped because either fails.
func dynamicELF(jailimg string, dirs ...string) (bins []string, dropped int, err error) {
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if interp(p) != loader {
				continue
			}
			if exec.Command(loader, "--list", p).Run() != nil {
				dropped++
				continue
			}
			bins = append(bins, p)
		}
	}
	// jailimg resolve fails as a whole on one missing library: find those.
	if exec.Command(jailimg, append([]string{"resolve"}, bins...)...).Run() == nil {
		return bins, dropped, nil
	}
	var kept []string
	for _, p := range bins {
		if exec.Command(jailimg, "resolve", p).Run() != nil {
			dropped++
			continue
		}
		kept = append(kept, p)
	}
	return kept, dropped, nil
}

func interp(p string) string {
	f, err := elf.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	for _, ph := range f.Progs {
		if ph.Type == elf.PT_INTERP {
			buf := make([]byte, ph.Filesz)
			if _, err := ph.ReadAt(buf, 0); err != nil {
				return ""
			}
			return strings.TrimRight(string(buf), "\x00")
		}
	}
	return ""
}
