package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// registry compares jailimg push and pull with crane and skopeo against
// docker-registry on loopback: a first push into an empty registry, a
// repeat push of an image the registry holds, and a pull into an empty
// layout.
func (b *bench) registry() error {
	for _, key := range []string{"large-gzip", "small-gzip"} {
		layout, tag := b.layouts[key], b.tags[key]
		freshRef, ref := b.fresh.ref(key+":"+tag), b.reg.ref(key+":"+tag)
		// skopeo's blob info cache (/var/lib/containers/cache, shared with
		// whoever else uses skopeo here) is left alone: the blobs it remembers
		// are gone from the wiped registry, so it uploads them all too.
		wipe := b.fresh.wipe
		var uploaded []string
		record := func(out []byte) error {
			var r struct{ UploadedBytes int64 }
			if err := json.Unmarshal(out, &r); err != nil {
				return fmt.Errorf("jailimg push --json: %w", err)
			}
			uploaded = append(uploaded, fmt.Sprint(r.UploadedBytes))
			return nil
		}
		targets := []Target{{Peer: "crane", Max: 1.0, Text: "≤ 1× (no slower)"}, {Peer: "skopeo copy", Max: 1.0, Text: "< 1× (faster)"}}
		first := &Group{
			Section: "registry", Name: describe(key) + ": first push into an empty registry", Short: "push " + short(key), Runs: b.runsFor(key), Targets: targets,
			Tools: []*Tool{
				{Name: "jailimg push", Argv: []string{b.bin, "push", "-q", "--json", layout, freshRef}, Setup: wipe, Out: record},
				{Name: "crane", Argv: []string{"crane", "push", layout, freshRef}, Setup: wipe},
				{Name: "skopeo copy", Argv: []string{"skopeo", "copy", "-q", "--dest-tls-verify=false", "oci:" + layout + ":" + tag, "docker://" + freshRef}, Setup: wipe},
			},
		}
		first.Run()
		firstUp := uploaded
		uploaded = nil
		repeat := &Group{
			Section: "registry", Name: describe(key) + ": repeat push", Short: "re-push " + short(key), Runs: b.runsFor(key), Targets: targets,
			Tools: []*Tool{
				{Name: "jailimg push", Argv: []string{b.bin, "push", "-q", "--json", layout, ref}, Out: record},
				{Name: "crane", Argv: []string{"crane", "push", layout, ref}},
				{Name: "skopeo copy", Argv: []string{"skopeo", "copy", "-q", "--dest-tls-verify=false", "oci:" + layout + ":" + tag, "docker://" + ref}},
			},
		}
		repeat.Run()
		verdict := "pass"
		for _, u := range uploaded {
			if u != "0" {
				verdict = "miss"
			}
		}
		repeat.Notes = append(repeat.Notes, fmt.Sprintf("Layer bytes jailimg uploaded (`--json` uploadedBytes) on each repeat push: %s (target: 0, **%s**); on each first push: %s.",
			strings.Join(uploaded, ", "), verdict, strings.Join(firstUp, ", ")))
		repeat.Checks = append(repeat.Checks, [3]string{"repeat push moves 0 layer bytes", strings.Join(uploaded, ", ") + " bytes", verdict})
		dst := filepath.Join(b.work, "pull-out")
		rm := func() error { return os.RemoveAll(dst) }
		pull := &Group{
			Section: "registry", Name: describe(key) + ": pull into an empty layout", Short: "pull " + short(key), Runs: b.runsFor(key), Targets: targets,
			Tools: []*Tool{
				{Name: "jailimg pull", Argv: []string{b.bin, "pull", "-q", ref, dst}, Setup: rm, Clean: rm},
				{Name: "crane", Argv: []string{"crane", "pull", "--format", "oci", ref, dst}, Setup: rm, Clean: rm},
				{Name: "skopeo copy", Argv: []string{"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + ref, "oci:" + dst + ":" + tag}, Setup: rm, Clean: rm},
			},
		}
		pull.Run()
		b.groups = append(b.groups, first, repeat, pull)
	}
	return nil
}
