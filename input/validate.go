package input

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The kinds of value a removal holds, in the order of the CSV columns.
const (
	userIDField = iota
	userEmailField
	roleIDField
	roleNameField
	organizationIDField
	reasonField
	fieldCount
)

// Length limits, in characters. Auth0 documents none for user ids or role
// names, so these are chosen: far above anything real, low enough to keep
// reports and messages readable.
const (
	maxUserIDLen   = 1024
	maxEmailLen    = 320 // 64 for the local part, 1, 255 for the domain
	maxRoleNameLen = 255
	maxReasonLen   = 1024
)

const (
	roleIDPrefix           = "rol_"
	roleIDSuffixLen        = 16
	organizationIDPrefix   = "org_"
	maxOrganizationIDChars = 46 // the OAS caps the id at 50 characters, "org_" included
)

// checkValue returns what is wrong with a non-empty value of the given kind,
// or "". name is the column or key that held it.
func checkValue(kind int, name, v string) string {
	// Reviewers' justifications span lines; nothing else may.
	if msg := checkText(name, v, kind == reasonField); msg != "" {
		return msg
	}
	switch kind {
	case userIDField:
		return checkUserID(name, v)
	case userEmailField:
		return checkEmail(name, v)
	case roleIDField:
		if !hasAlnumSuffix(v, roleIDPrefix, roleIDSuffixLen, roleIDSuffixLen) {
			return fmt.Sprintf("%s %s is not a role id (expected rol_ followed by 16 letters or digits)", name, quote(v))
		}
	case roleNameField:
		return checkLength(name, v, maxRoleNameLen)
	case organizationIDField:
		if !hasAlnumSuffix(v, organizationIDPrefix, 1, maxOrganizationIDChars) {
			return fmt.Sprintf("%s %s is not an organization id (expected org_ followed by 1 to %d letters or digits)", name, quote(v), maxOrganizationIDChars)
		}
	case reasonField:
		return checkLength(name, v, maxReasonLen)
	}
	return ""
}

// checkText rejects what no field may hold: invalid UTF-8, and control
// characters. C1 controls count too: U+009B, for one, starts an escape
// sequence on some terminals that will print the plan and the report.
// Multi-line text may hold line feeds and tabs, never a lone carriage
// return, which would let a line overwrite the one before it on a terminal.
func checkText(name, v string, multiline bool) string {
	for i := 0; i < len(v); {
		if c := v[i]; c >= 0x20 && c < 0x7f || multiline && (c == '\n' || c == '\t' || c == '\r' && i+1 < len(v) && v[i+1] == '\n') {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("%s %s is not valid UTF-8", name, quote(v))
		}
		if unicode.IsControl(r) {
			return fmt.Sprintf("%s %s contains a control character (%U)", name, quote(v), r)
		}
		i += size
	}
	return ""
}

func checkLength(name, v string, max int) string {
	if n := utf8.RuneCountInString(v); n > max {
		return fmt.Sprintf("%s is %d characters long (at most %d)", name, n, max)
	}
	return ""
}

// checkUserID accepts "provider|id". The provider is a connection strategy
// (auth0, google-oauth2, samlp, oidc, a custom connection's name); the id is
// whatever the provider issued and may itself hold '|' and '/'.
func checkUserID(name, v string) string {
	if msg := checkLength(name, v, maxUserIDLen); msg != "" {
		return msg
	}
	provider, id, found := strings.Cut(v, "|")
	if found && provider != "" && strings.TrimFunc(provider, isProviderChar) == "" &&
		id != "" && strings.TrimSpace(id) == id {
		return ""
	}
	if !found && strings.Contains(v, "@") {
		return fmt.Sprintf("%s %s is not an Auth0 user id but looks like an email address: put it in user_email", name, quote(v))
	}
	return fmt.Sprintf("%s %s is not an Auth0 user id (expected provider|id, e.g. auth0|5f7c8ec7c33c6c004bbafe82)", name, quote(v))
}

func isProviderChar(r rune) bool {
	return r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '-' || r == '_')
}

// checkEmail is deliberately loose: the tenant decides whether the address
// exists; this only catches what cannot be an address at all.
func checkEmail(name, v string) string {
	if msg := checkLength(name, v, maxEmailLen); msg != "" {
		return msg
	}
	local, domain, _ := strings.Cut(v, "@")
	dot := strings.IndexByte(domain, '.')
	if local == "" || strings.Contains(domain, "@") || dot <= 0 || strings.HasSuffix(domain, ".") ||
		strings.IndexFunc(v, unicode.IsSpace) >= 0 {
		return fmt.Sprintf("%s %s is not an email address", name, quote(v))
	}
	return ""
}

// hasAlnumSuffix reports whether v is prefix followed by min to max ASCII
// letters or digits.
func hasAlnumSuffix(v, prefix string, min, max int) bool {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok || len(rest) < min || len(rest) > max {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if !isAlnum(rest[i]) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// quote quotes v for a message, shortened so that a pasted paragraph does
// not drown the message.
func quote(v string) string {
	const max = 80
	if len(v) <= max {
		return strconv.Quote(v)
	}
	cut := max
	for cut > max-utf8.UTFMax && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return strconv.Quote(v[:cut]) + "..."
}
