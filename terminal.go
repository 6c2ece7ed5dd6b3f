package main

import (
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether a stream is an interactive terminal: apply asks
// for confirmation and draws a live progress bar only there.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
