package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// results is what a run measured. It is saved beside the doc
// (docs/benchmarks.json) so that `go run ./bench -report` renders the doc
// and the chart again, e.g. after a change to their text, without measuring.
type results struct {
	Started     time.Time
	Took        time.Duration
	Size        int64
	TreeFiles   int
	Runs        int
	RunsSmall   int
	Work        string
	Sections    []string
	MachineInfo [][2]string
	VersionInfo [][2]string
	Facts       map[string][]string
	Groups      []*Group
}

func jsonPath(md string) string { return strings.TrimSuffix(md, filepath.Ext(md)) + ".json" }

func (b *bench) save() error {
	data, err := json.MarshalIndent(results{
		Started: b.started, Took: b.took, Size: b.size, TreeFiles: b.treeFiles,
		Runs: b.runs, RunsSmall: b.runsSmall, Work: b.work, Sections: b.sections,
		MachineInfo: b.machineInfo, VersionInfo: b.versionInfo, Facts: b.facts, Groups: b.groups,
	}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(jsonPath(b.out), append(data, '\n'), 0o644)
}

func (b *bench) load() error {
	p := jsonPath(b.out)
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var r results
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	b.started, b.took, b.size, b.treeFiles = r.Started, r.Took, r.Size, r.TreeFiles
	b.runs, b.runsSmall, b.work, b.sections = r.Runs, r.RunsSmall, r.Work, r.Sections
	b.machineInfo, b.versionInfo, b.facts, b.groups = r.MachineInfo, r.VersionInfo, r.Facts, r.Groups
	delete(b.facts, "unpack") // the breakdowns of earlier runs: report computes them now
	return nil
}
