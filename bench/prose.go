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
			"Its gzip is a series of independent gzip members of 256 KiB of tar each (klauspost/compress at the default level, compressed on every core), which any gzip reader reads as one stream and jailimg unpack decodes on every core; its zstd is klauspost's SpeedDefault with a 2 MiB window (the zstd command's at level 3) and an encoder goroutine per core (neither core count changes the bytes). `gzip` is single-threaded level 6, `pigz` uses both cores, `zstd -T0` level 3 on both cores."
	case "unpack":
		return "`jailimg unpack LAYOUT BUNDLE` into a new bundle against: `umoci unpack` of the same layout; `crane export` of the same image from the loopback registry piped into `tar -x`; GNU tar reading the layer blob (`tar -z -xf`, `tar --zstd -xf`); `pigz -dc` or `zstd -dc` piped into `tar -x`. All run as root, so tar and cp keep owners too. " +
			"Then the floors, rows marked *(floor)*: decompressing the blob alone (`pigz -dc > /dev/null`, `zstd -dc > /dev/null`, and *klauspost decode*: the Go decoders jailimg uses, with its settings and its 64 KiB reads, reading the blob to nothing in bench/decodealone, a static program that links nothing else, so that its start is the smallest a Go decoder has: the floor for an unpacker in pure Go that decodes on one core; and, for gzip, *klauspost decode, members on every core*: the same program decoding the members of jailimg's layer on both cores at once, as jailimg unpack does, the floor for jailimg's own way); extracting the uncompressed tar (`tar -xf`, the layer decompressed beforehand, untimed); and `cp -a` of the unpacked tree, the floor for writing these files at all. " +
			"jailimg hashes the compressed layer (digest) and the tar stream (diff_id), checks every entry (path escapes, symlinked parents, setuid bits, devices, size and ratio limits), creates every file relative to a directory fd resolved with openat2(RESOLVE_IN_ROOT), writes a new generation beside the live one, calls syncfs and switches `current` by rename. It does so in a pipeline on both cores: the blob is decompressed on goroutines of its own (a gzip layer's members on both cores at once, a zstd layer on one) and its digest computed on another, the diff_id is hashed as the tar is walked, and file contents are written by a small pool of writers meanwhile, so that its time is bound by the slower of decompressing and writing. Its buffers (about 1.9 MiB: chunks of the stream, file contents waiting for a writer, a copy buffer) are carved from one region advised for a transparent huge page, since on this virtual machine a page touched for the first time costs a fault of 20–40 µs, more than decompressing its bytes: faulted in 4 KiB at a time they cost about 250 faults; as one huge page, one. " +
			"umoci also hashes every file it writes into an mtree manifest and writes a runtime config.json; crane export streams the flattened tree through the registry's HTTP on loopback. " +
			"The large image is the build section's tree; the small one is `recipes/nginx.yaml` (nginx with its libraries, a few MB). Peak memory is the maximum resident set size the kernel reports for the process (ru_maxrss), taken in untimed runs under GNU time (`/usr/bin/time -f %M`): a child the bench starts itself would report at least the bench's own peak, since Go starts children with vfork. It counts the pages of the binary the process maps, shared with the page cache, as well as its own memory."
	case "registry":
		return "jailimg push/pull against `crane push`/`crane pull --format oci` and `skopeo copy` (oci: layout to docker://, and back), each against Debian's docker-registry on 127.0.0.1 over plain HTTP, storage on the tmpfs. " +
			"*First push*: the registry is restarted with empty storage before every run (untimed), so every tool uploads every blob. *Repeat push*: the image is already in the repository; a tool should only ask (HEAD) and put the manifest. *Pull*: into a directory that does not exist yet. " +
			"skopeo's blob info cache (/var/lib/containers/cache) is left as it is: it is shared with other users of this machine, and after a wipe the blobs it remembers are gone, so it uploads them like the others."
	case "packages":
		return "`jailimg build --offline` of `recipes/nginx-pkg.yaml` (nginx-light and base-files from the packages its lock pins) from a warm package cache, against `jailimg build` of `recipes/nginx.yaml` (the same nginx from the host's files). " +
			"The package build checks every locked .deb (33 for nginx) against the lock's SHA256 and size, then builds from the root it extracted once, kept in the cache; it also writes the SPDX SBOM (every file hashed again with SHA1 and SHA256) into the layout. " +
			"The cache, on the tmpfs with the rest, was filled by one untimed online build first; the host-file build reads the host's files from its disk, page-cached after the first run."
	case "boot":
		return "`jailimg unpack` of the image the bundle already holds, as an rc script runs it at every boot: it reads the layout's index and manifest, finds that the live generation already holds that manifest, and changes nothing. No peer has this operation (umoci and tar would unpack again); the target is absolute."
	}
	return ""
}

// limits explains, from the verdicts, what holds a section back.
func (b *bench) limits(section string) string {
	var out []string
	said := map[string]bool{}
	for _, g := range b.groups {
		if g.Section != section {
			continue
		}
		for _, tg := range g.Targets {
			if g.Verdict(tg) != "miss" {
				continue
			}
			why := b.whyMiss(section, g, tg)
			if said[why] {
				why = "Same cause as above."
			}
			said[why] = true
			out = append(out, fmt.Sprintf("- **Not met: %s, %s %s.** %s", g.Name, tg.Text, tg.Peer, why))
		}
		for _, t := range g.Tools {
			if t.Failed != "" {
				why := whyFailed(t)
				if said[why] {
					why = "as above."
				}
				said[why] = true
				out = append(out, fmt.Sprintf("- %s, `%s` failed: %s", g.Name, t.Name, why))
			}
		}
	}
	obs := b.observations(section)
	if len(out) == 0 {
		return obs
	}
	return obs + "\n\nWhat limits it:\n\n" + strings.Join(out, "\n")
}

// observations compares jailimg with itself across compressions.
func (b *bench) observations(section string) string {
	find := func(name string) *Tool {
		for _, g := range b.groups {
			if g.Section == section && g.Name == name && g.Tools[0].ok() {
				return g.Tools[0]
			}
		}
		return nil
	}
	switch section {
	case "build":
		gz, zs := find("large tree, gzip"), find("large tree, zstd")
		if gz != nil && zs != nil {
			return fmt.Sprintf("jailimg builds the zstd layer in %.0f%% of the gzip layer's time. No target is set for zstd; against `tar -c | zstd -T0`, whose compressor is much faster than gzip, the part of jailimg's build outside the compressor (walking and reading the files, sorting, normalising, hashing) weighs more.", 100*float64(zs.Median())/float64(gz.Median()))
		}
	case "unpack":
		gz, zs := find("large image, gzip"), find("large image, zstd")
		if gz != nil && zs != nil {
			return fmt.Sprintf("On the large image jailimg unpacks the zstd layer in %.0f%% of the gzip layer's time.", 100*float64(zs.Median())/float64(gz.Median()))
		}
	}
	return ""
}

func (b *bench) whyMiss(section string, g *Group, tg Target) string {
	subject := g.Tools[0]
	switch section {
	case "build":
		why := "jailimg compresses its gzip layer on both cores, as pigz does, but the same two cores also walk and read the tree, write and hash the tar (diff_id) and hash and write the blob, where `tar -c | pigz` only reads and writes: the compressors get less than two cores."
		if t := g.tool("tar -c | gzip"); t != nil && t.ok() {
			why += fmt.Sprintf(" Against single-threaded `tar -c | gzip` jailimg's ratio is %.2f.", g.Ratio(t))
		}
		return why + " On this shared machine the ratio against pigz moves by about ±10% from run to run."
	case "unpack":
		if strings.HasPrefix(tg.Peer, "cp") {
			if cp := g.tool(tg.Peer); cp != nil && cp.ok() && subject.ok() {
				return fmt.Sprintf("jailimg takes %s more than `cp -a` here.%s Besides copying, jailimg decompresses, hashes twice (layer digest and diff_id) and checks each entry; a part of it is fixed per unpack: process start and reading the layout (the boot section's no-op unpack is that part), creating the staging generation and setting up the decompressor (under strace the zstd decoder's first 73 kB block took 6–9 ms), which a 4 MB image cannot amortise.",
					fmtDur(subject.Median()-cp.Median()), b.otherSize(g, tg.Peer))
			}
		}
		if strings.Contains(tg.Peer, "umoci") {
			return "On the small image both tools are dominated by fixed costs (process start, reading the layout, setting up the bundle), so the ratio the large image reaches does not carry over; umoci's per-file mtree hashing, which the target counts on, has little to hash here."
		}
		if strings.Contains(tg.Peer, "(floor)") {
			return b.whyFloor(g)
		}
		return "Decompression is single-threaded in both and runs beside the writing in both (`tar -z` runs `gzip -d` in a second process, jailimg on its own goroutine); jailimg also hashes the layer twice (digest and diff_id) and checks each entry, with an openat2 call per parent directory."
	case "registry":
		if strings.Contains(g.Name, "pull") {
			return "Pull hashes each blob once, as it streams in (go-containerregistry's verifying reader), plus the blobs the layout already held, which the layout writer skips unread; it also writes the layout beside the old one and swaps it in, so a failed pull leaves the layout as it was. What remains against crane is that staging and swap, and the min–max spread of this shared machine is of the same size."
		}
		if strings.Contains(g.Name, "repeat") {
			return "A repeat push is a handful of HEAD requests and one manifest PUT for every tool; the difference to crane is a few milliseconds, within the min–max spread of this shared machine."
		}
		return "Both tools make the same uploads of the same blobs; look at the min–max spread, which on this shared machine is of the same size as the difference."
	case "boot":
		return "The no-op path still starts the binary and reads the layout; see the spread for the noise of the shared machine."
	case "resolve":
		return "jailimg opens and parses every binary and library once per call; what remains is file reads and ELF parsing."
	}
	return ""
}

func whyFailed(t *Tool) string {
	if strings.Contains(t.Failed, "not correct mediatype") && strings.Contains(t.Name, "umoci") {
		return "umoci 0.4.7 (Debian 12) does not read zstd layers (`blob is not correct mediatype: application/vnd.oci.image.layer.v1.tar+zstd`), so there is no umoci number for zstd."
	}
	return "`" + esc(shorten(t.Failed)) + "`"
}

// whyFloor explains a miss against a decode-alone floor from the group's
// own rows: jailimg decompresses while it writes the files and hashes, on
// two cores, so its floor is the slower of the two sides, and the floor
// rows write nothing.
func (b *bench) whyFloor(g *Group) string {
	subject, dec, cp, noop := g.Tools[0], g.tool("klauspost decode (floor)"), g.tool("cp -a (floor)"), g.tool(noopName)
	if !subject.ok() || dec == nil || !dec.ok() || cp == nil || !cp.ok() || noop == nil || !noop.ok() {
		return "jailimg's unpack is bound by the slower of decompressing and writing the files, which share two cores; the decode-alone rows write nothing."
	}
	why := fmt.Sprintf("jailimg decompresses while it writes the files and hashes the layer twice (digest and diff_id), on two cores, so its floor is the slower of the two sides; the decode-alone rows write nothing. "+
		"Here decoding alone takes %s, and writing the same files alone (`cp -a`, no decompression, no hashing) %s: ", fmtDur(dec.Median()), fmtDur(cp.Median()))
	// Writing alone at 70% of decoding alone or more leaves no room for
	// the hashing and checking the writing core also does.
	if cp.Median()*10 >= dec.Median()*7 {
		why += "the writing side, which also hashes, is as slow as decompression or slower. Writing to tmpfs allocates a page for every 4 kB, and on this virtual machine the host takes back guest memory the previous tool freed (virtio-balloon free page reporting), so writing varies from run to run with what ran before (see the min–max spread of `cp -a` and jailimg), while decoding to nothing allocates nothing."
	} else {
		why += fmt.Sprintf("writing is the faster side, so what jailimg adds is mostly fixed: its start, reading and verifying the layout, and creating the generation (the *already current* row, %s, process start included; the decode-alone row includes its own start, that of the smallest Go program that decodes), and the copy of every decoded byte out of the decoder.", fmtDur(noop.Median()))
		if a := g.tool(aloneName); a != nil && a.ok() {
			why += fmt.Sprintf(" The unpack library alone (bench/unpackalone) takes %.2f× decoding alone; the rest is the jailimg binary's start (see the breakdown above).", float64(a.Median())/float64(dec.Median()))
		}
		if g.tool(membersName) == nil {
			why += " This layer is one zstd frame, which decodes on one core; a gzip layer jailimg builds is a series of independent members, which jailimg decodes on both, and so is faster than its one-core floor (see the gzip table)."
		}
	}
	return why
}

// otherSize states jailimg's excess over peer on the other image size with
// the same compression, when it was measured.
func (b *bench) otherSize(g *Group, peer string) string {
	for _, o := range b.groups {
		if o == g || o.Section != g.Section || !strings.HasSuffix(o.Name, g.Name[strings.LastIndexByte(g.Name, ','):]) {
			continue
		}
		p := o.tool(peer)
		if p == nil || !p.ok() || !o.Tools[0].ok() {
			continue
		}
		return fmt.Sprintf(" On the %s it takes %s more (%.2f×).", strings.TrimSuffix(o.Name, o.Name[strings.LastIndexByte(o.Name, ','):]), fmtDur(o.Tools[0].Median()-p.Median()), o.Ratio(p))
	}
	return ""
}
