package handoff

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// canned responses: {variable} placeholders, letters, digits, '_' and one or more dotted parts.
var placeholder = regexp.MustCompile(`\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)\}`)

// CannedVariables lists the variables a canned response may use.
var CannedVariables = []string{
	"customer.first_name", "customer.last_name", "customer.email",
	"order.number", "order.status", "agent.name",
}

// checkCanned validates a canned response's shortcut and text.
func checkCanned(shortcut, title, text string) error {
	if len(shortcut) == 0 || len(shortcut) > 32 || strings.Trim(shortcut, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		return fmt.Errorf("%w: shortcut %q (1-32 of a-z, 0-9, _ and -)", ErrBadInput, shortcut)
	}
	if len(title) > 100 {
		return fmt.Errorf("%w: title longer than 100 bytes", ErrBadInput)
	}
	if strings.TrimSpace(text) == "" || len(text) > 2000 {
		return fmt.Errorf("%w: text must be 1-2000 bytes", ErrBadInput)
	}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(CannedVariables, m[1]) {
			return fmt.Errorf("%w: unknown variable {%s} (known: %s)", ErrBadInput, m[1], strings.Join(CannedVariables, ", "))
		}
	}
	return nil
}

// RenderCanned fills text's {variables} from vars. Variables without a value stay as they are and are
// returned in missing, so the agent can fill them in before sending.
func RenderCanned(text string, vars map[string]string) (out string, missing []string) {
	out = placeholder.ReplaceAllStringFunc(text, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := vars[name]; ok && v != "" {
			return v
		}
		if !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		return m
	})
	return out, missing
}
