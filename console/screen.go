// Package console is what a person watching a run sees on standard error:
// a live progress line on a terminal with log lines printed above it, or
// progress log records every so often elsewhere.
package console

import (
	"bytes"
	"io"
	"sync"
	"unicode/utf8"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// Screen is a terminal's standard error with one status line kept at the
// bottom: every write clears the status line, writes, and draws it again,
// so that log lines and notices go above the bar, never onto it. It is
// safe for concurrent use; a write that does not end a line is held until
// its line is complete, so the bar never lands in the middle of one.
type Screen struct {
	mu      sync.Mutex
	w       io.Writer
	width   int    // columns; 0 when unknown
	status  string // drawn at the bottom; "" when there is none
	partial []byte // the start of a line not yet written
}

// NewScreen draws on w, a terminal width columns wide (0: unknown). A
// status line wider than the terminal would wrap, and erasing the line
// would then leave its first part behind, so it is cut to fit.
func NewScreen(w io.Writer, width int) *Screen { return &Screen{w: w, width: width} }

func (s *Screen) fit(line string) string {
	if s.width <= 1 || utf8.RuneCountInString(line) < s.width {
		return line
	}
	r := []rune(line)
	return string(r[:s.width-1])
}

// Write writes p above the status line.
func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status == "" && len(s.partial) == 0 {
		return s.w.Write(p)
	}
	s.partial = append(s.partial, p...)
	end := bytes.LastIndexByte(s.partial, '\n')
	if end < 0 && s.status != "" {
		return len(p), nil
	}
	var out []byte
	if s.status != "" {
		out = append(out, clearLine...)
	}
	if end < 0 {
		out = append(out, s.partial...)
		s.partial = s.partial[:0]
	} else {
		out = append(out, s.partial[:end+1]...)
		s.partial = append(s.partial[:0], s.partial[end+1:]...)
	}
	out = append(out, s.status...)
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Status replaces the status line.
func (s *Screen) Status(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = s.fit(line)
	io.WriteString(s.w, clearLine+s.status)
}

// Finish draws the status line a last time and leaves it, ending its line;
// later writes go below it. An empty line only clears the status.
func (s *Screen) Finish(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status == "" && line == "" {
		return
	}
	out := clearLine + s.fit(line)
	if line != "" {
		out += "\n"
	}
	out += string(s.partial)
	s.status, s.partial = "", nil
	io.WriteString(s.w, out)
}
