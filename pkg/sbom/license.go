package sbom

import (
	"strings"

	"github.com/jailimg/jailimg/pkg/dpkg"
)

// debianLicenses maps the short names of the Debian copyright format
// (DEP-5) to SPDX license identifiers: those two differ in case, in "+"
// for "or later", and in a few names (Expat is MIT).
var debianLicenses = map[string]string{
	"apache-2.0": "Apache-2.0", "artistic": "Artistic-1.0", "artistic-2.0": "Artistic-2.0",
	"bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
	"cc0-1.0": "CC0-1.0", "expat": "MIT", "mit": "MIT", "isc": "ISC", "zlib": "Zlib",
	"gpl-1": "GPL-1.0-only", "gpl-1+": "GPL-1.0-or-later",
	"gpl-2": "GPL-2.0-only", "gpl-2+": "GPL-2.0-or-later", "gpl-3": "GPL-3.0-only", "gpl-3+": "GPL-3.0-or-later",
	"lgpl-2": "LGPL-2.0-only", "lgpl-2+": "LGPL-2.0-or-later", "lgpl-2.1": "LGPL-2.1-only", "lgpl-2.1+": "LGPL-2.1-or-later",
	"lgpl-3": "LGPL-3.0-only", "lgpl-3+": "LGPL-3.0-or-later", "mpl-2.0": "MPL-2.0", "openssl": "OpenSSL",
	"public-domain": "", "psf-2": "PSF-2.0", "python-2.0": "Python-2.0", "curl": "curl", "x11": "X11",
}

// License returns the SPDX expression of the license a Debian copyright
// file declares for the package as a whole (the License field of its
// "Files: *" paragraph), or "" when the file is not in the machine-readable
// format or names a license without an SPDX identifier. Debian's "or" and
// "and" become SPDX's OR and AND.
func License(copyright []byte) string {
	paras, err := dpkg.Paragraphs("copyright", copyright)
	if err != nil || len(paras) < 2 || !strings.Contains(paras[0].Fields["Format"], "copyright-format") {
		return ""
	}
	for _, p := range paras[1:] {
		files := strings.Fields(p.Fields["Files"])
		if len(files) == 0 || files[0] != "*" {
			continue
		}
		first, _, _ := strings.Cut(p.Fields["License"], "\n")
		return expression(first)
	}
	return ""
}

// expression translates a DEP-5 license line ("GPL-2+ or Artistic") into
// SPDX ("GPL-2.0-or-later OR Artistic-1.0"), or "" if any name is unknown.
func expression(line string) string {
	var out []string
	for _, w := range strings.Fields(strings.ReplaceAll(line, ",", " ")) {
		switch lw := strings.ToLower(w); {
		case lw == "or" || lw == "and":
			if len(out) == 0 {
				return ""
			}
			out = append(out, strings.ToUpper(lw))
		case debianLicenses[lw] != "":
			out = append(out, debianLicenses[lw])
		default:
			return ""
		}
	}
	if len(out) == 0 || out[len(out)-1] == "OR" || out[len(out)-1] == "AND" {
		return ""
	}
	return strings.Join(out, " ")
}
