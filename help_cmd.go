package main

import (
	"io"
	"strings"
)

// helpTopics are the `rolesweep help TOPIC` pages that are not commands.
var helpTopics = map[string]func(w io.Writer){}

// helpTopic prints `rolesweep help TOPIC` when args ask for a topic that is
// not a command, and says whether it did. (The cli branch's help command
// serves helpTopics itself; this stands in until it lands.)
func helpTopic(args []string, w io.Writer) bool {
	if len(args) != 3 || args[1] != "help" {
		return false
	}
	print, ok := helpTopics[strings.ToLower(args[2])]
	if ok {
		print(w)
	}
	return ok
}
