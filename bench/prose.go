package main

import (
	"fmt"
	"strings"
)

// intro says what a section compares and how.
func (b *bench) intro(section string) string {
	switch section {
	case "resolve":
		return fmt.Sprintf("One `jailimg resolve` call with every binary as an argument, against the loader's `%s --list` and `ldd` run on each binary in turn from a shell `while read` loop, as one would script it. jailimg reads the ELF headers and the loader's search path itself and runs nothing; `ld.so --list` maps every library of every binary, and `ldd` is a bash script that starts the loader (twice for some binaries) once per file. Output goes to a pipe (jailimg) or /dev/null (the loops).", loader)
	case "build":
		return "`jailimg build` of a recipe holding only `files: [{src: TREE, dst: /data}]` over the generated tree, against `tar -c -C TREE . | COMPRESSOR > FILE`. " +
			"The tree is reproducible (`bench/gentree.go`, PCG and ChaCha8 seeded with 1): ≈10 kB mean file size, log-normal sizes (median ≈3 kB, largest ≈2 MB), 64 files to a directory; 70% of the files are text of pseudo-words (gzip shrinks it ≈3×), 30% random bytes. " +
			"jailimg does more than tar: it sorts the entries, normalises owners and mtimes, hashes the uncompressed (diff ID) and compressed streams, and writes an OCI layout (config, manifest, index) renamed into place. " +
			"Its gzip is klauspost/compress at the default level on one goroutine; its zstd is klauspost's SpeedDefault with two encoder goroutines. `gzip` is single-threaded level 6, `pigz` uses both cores, `zstd -T0` level 3 on both cores."
	case "unpack":
		return "`jailimg unpack LAYOUT BUNDLE` into a new bundle against: `umoci unpack` of the same layout; `crane export` of the same image from the loopback registry piped into `tar -x`; GNU tar reading the layer blob (`tar -z -xf`, `tar --zstd -xf`); `pigz -dc` or `zstd -dc` piped into `tar -x`; and `cp -a` of the unpacked tree, the floor for writing these files at all. All run as root, so tar and cp keep owners too. " +
			"jailimg checks the layer digest and every entry (path escapes, symlinked parents, setuid bits, devices, size and ratio limits), writes a new generation beside the live one, calls syncfs and switches `current` by rename. " +
			"umoci also hashes every file it writes into an mtree manifest and writes a runtime config.json; crane export streams the flattened tree through the registry's HTTP on loopback. " +
			"The large image is the build section's tree; the small one is `recipes/nginx.yaml` (nginx with its libraries, a few MB)."
	case "registry":
		return "jailimg push/pull against `crane push`/`crane pull --format oci` and `skopeo copy` (oci: layout to docker://, and back), each against Debian's docker-registry on 127.0.0.1 over plain HTTP, storage on the tmpfs. " +
			"*First push*: the registry is restarted with empty storage before every run (untimed), so every tool uploads every blob. *Repeat push*: the image is already in the repository; a tool should only ask (HEAD) and put the manifest. *Pull*: into a directory that does not exist yet. " +
			"skopeo's blob info cache (/var/lib/containers/cache) is left as it is: it is shared with other users of this machine, and after a wipe the blobs it remembers are gone, so it uploads them like the others."
	case "boot":
		return "`jailimg unpack` of the image the bundle already holds, as an rc script runs it at every boot: it reads the layout's index and manifest, sees the live generation is that manifest, and does nothing. No peer has this operation (umoci and tar would unpack again); the target is absolute."
	}
	return ""
}

// limits explains, from the verdicts, what holds a section back.
func (b *bench) limits(section string) string {
	var out []string
	for _, g := range b.groups {
		if g.Section != section {
			continue
		}
		for _, tg := range g.Targets {
			if g.Verdict(tg) != "miss" {
				continue
			}
			why := whyMiss(section, g, tg)
			out = append(out, fmt.Sprintf("- **Not met: %s, %s %s.** %s", g.Name, tg.Text, tg.Peer, why))
		}
		for _, t := range g.Tools {
			if t.Failed != "" {
				out = append(out, fmt.Sprintf("- %s, `%s` failed: %s", g.Name, t.Name, whyFailed(t)))
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "What limits it:\n\n" + strings.Join(out, "\n")
}

func whyMiss(section string, g *Group, tg Target) string {
	switch section {
	case "build":
		return "jailimg compresses its gzip layer on one core, while pigz uses both: on this 2-core machine `tar | pigz` has twice the compression throughput. Closing the gap needs a parallel gzip writer (independent deflate blocks concatenated, as pigz does, which stays byte-for-byte reproducible for a fixed block size); the zstd layer, already compressed on two goroutines, shows what that buys."
	case "unpack":
		if strings.HasPrefix(tg.Peer, "cp") {
			return "cp -a only copies; jailimg also decompresses, hashes the layer and checks every entry, and creates each file through a safe open relative to its parent (openat2 with RESOLVE_BENEATH-style checks), which costs syscalls per entry that cp does not make. With 50k small files, per-entry syscalls dominate."
		}
		if strings.Contains(tg.Peer, "umoci") {
			return "umoci does even more per file (it hashes every file into an mtree manifest), so this ratio depends mostly on jailimg's per-entry cost; see the cp -a floor."
		}
		return "gzip decompression is single-threaded in both (tar -z runs gzip -d in a second process, so decompression and writing overlap on two cores); jailimg decompresses, hashes and writes in one process with a pipe-free reader, plus its per-entry checks and safe opens."
	case "registry":
		return "See the min–max spread: on a shared machine a few hundred milliseconds of noise move these ratios; the work itself is the same HTTP uploads/downloads of the same blobs."
	case "boot":
		return "The no-op path still starts the binary and reads the layout; see the spread for the noise of a shared machine."
	case "resolve":
		return "jailimg opens and parses every binary and library once per call; the remaining time is file reads and ELF parsing."
	}
	return ""
}

func whyFailed(t *Tool) string {
	if strings.Contains(t.Failed, "not correct mediatype") && strings.Contains(t.Name, "umoci") {
		return "umoci 0.4.7 (Debian 12) does not read zstd layers (`blob is not correct mediatype: application/vnd.oci.image.layer.v1.tar+zstd`), so there is no umoci number for zstd."
	}
	return "`" + esc(shorten(t.Failed)) + "`"
}
