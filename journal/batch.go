package journal

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rolesweep/rolesweep/report"
)

// maxBatchBytes bounds the lines gathered while the previous batch is being
// written and fsynced, or the flusher pauses between fsyncs (a few hundred
// groups at a few hundred bytes each), and
// so what a crash can lose and the memory a slow disk can tie up. A single
// line longer than this (a user with thousands of roles) still goes out, as
// a batch of its own.
const maxBatchBytes = 256 << 10

// minSyncInterval spaces fsyncs: a fast run finishes thousands of groups a
// second, and an fsync for every few of them cost a fifth of the run's CPU.
// A crash loses at most about this much of the run on top of one fsync.
const minSyncInterval = 10 * time.Millisecond

// linePool holds the buffers Records encode their lines in, so that
// encoding allocates nothing and holds no lock.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledLine keeps a buffer that a user with thousands of roles grew out
// of the pool.
const maxPooledLine = 64 << 10

// testHookBatchFull, when set by a test, is called each time a Record
// waits for a full batch to be taken, without w.mu held.
var testHookBatchFull func()

// enqueue appends line to the gathering batch and starts the flusher when
// none runs. When the batch is full it first waits for the flusher to take
// it. w.mu is held; it is released while waiting.
func (w *Writer) enqueue(line []byte) error {
	for {
		if err := w.unusable(); err != nil {
			return err
		}
		if len(w.next) == 0 || len(w.next)+len(line) <= maxBatchBytes {
			break
		}
		// Lines gather only while a flusher runs; a full batch calls it
		// out of its pause.
		taken := w.taken
		w.nudge()
		w.mu.Unlock()
		if testHookBatchFull != nil {
			testHookBatchFull()
		}
		<-taken
		w.mu.Lock()
	}
	if w.next == nil {
		w.next, w.spare = w.spare, nil
	}
	w.next = append(w.next, line...)
	if !w.flushing {
		w.flushing = true
		w.taken = make(chan struct{})
		w.hurry = make(chan struct{}, 1)
		w.stopped = make(chan struct{})
		go w.flush()
	}
	return nil
}

// nudge ends the flusher's pause between fsyncs. w.mu is held.
func (w *Writer) nudge() {
	if !w.flushing {
		return
	}
	select {
	case w.hurry <- struct{}{}:
	default:
	}
}

// flush writes the gathered lines, with one write call and one fsync, until
// none are left after a pause of minSyncInterval (cut short when a batch
// fills up or Close is waiting); then it returns, so there is no goroutine to
// stop when the run ends. While it runs only it touches the file.
func (w *Writer) flush() {
	w.mu.Lock()
	for len(w.next) > 0 && w.err == nil {
		buf, size := w.next, w.size
		w.next = nil
		close(w.taken)
		w.taken = make(chan struct{})
		w.mu.Unlock()

		start := time.Now()
		err := w.writeBatch(buf, size)

		w.mu.Lock()
		if err != nil {
			w.err = err
			break
		}
		w.size += int64(len(buf))
		// Two buffers take turns; one that a huge line blew up is dropped
		// rather than kept for the rest of the run.
		if cap(buf) <= 2*maxBatchBytes {
			w.spare = buf[:0]
		}
		if w.closing {
			continue
		}
		hurry := w.hurry
		w.mu.Unlock()
		if pause := minSyncInterval - time.Since(start); pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-hurry:
				t.Stop()
			}
		}
		w.mu.Lock()
	}
	// What gathered after a failure is dropped: the journal is stopped.
	w.next = nil
	w.flushing = false
	close(w.taken)
	close(w.stopped)
	w.mu.Unlock()
}

// writeBatch appends buf to the file, whose complete lines end at size,
// with one write call, and fsyncs. A partial write is cut off so the file
// stays line-aligned for --resume.
func (w *Writer) writeBatch(buf []byte, size int64) error {
	n, err := w.f.Write(buf)
	if err != nil {
		if n > 0 {
			w.f.Truncate(size)
		}
		return fmt.Errorf("journal %s: write: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: fsync: %w", w.path, err)
	}
	return nil
}

// waitIdle makes the flusher write what gathered without pausing, and
// returns once it has stopped, so the file is the caller's alone. w.mu is
// held; it is released while waiting.
func (w *Writer) waitIdle() {
	for w.flushing {
		stopped := w.stopped
		w.nudge()
		w.mu.Unlock()
		<-stopped
		w.mu.Lock()
	}
}

// appendEntryLine appends e as one JSON line (newline included), the same
// JSON that encoding/json writes for Entry except that <, > and & stay
// literal: reflection per record was a noticeable share of a fast run's CPU.
func appendEntryLine(b []byte, e *Entry) ([]byte, error) {
	b = append(b, `{"organization_id":`...)
	b = report.AppendJSONString(b, e.OrganizationID)
	b = append(b, `,"user":`...)
	b = report.AppendJSONString(b, e.User)
	b = append(b, `,"finished_at":"`...)
	// AppendText refuses what JSON cannot carry (a year past 9999), as
	// json.Marshal does.
	b, err := e.FinishedAt.AppendText(b)
	if err != nil {
		return b, fmt.Errorf("finished_at: %w", err)
	}
	b = append(b, `","results":`...)
	if e.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range e.Results {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendResult(b, &e.Results[i])
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...), nil
}

func appendResult(b []byte, r *report.Result) []byte {
	b = append(b, `{"user_id":`...)
	b = report.AppendJSONString(b, r.UserID)
	b = append(b, `,"user_email":`...)
	b = report.AppendJSONString(b, r.UserEmail)
	b = append(b, `,"organization_id":`...)
	b = report.AppendJSONString(b, r.OrganizationID)
	b = append(b, `,"role_id":`...)
	b = report.AppendJSONString(b, r.RoleID)
	b = append(b, `,"role_name":`...)
	b = report.AppendJSONString(b, r.RoleName)
	b = append(b, `,"status":`...)
	b = report.AppendJSONString(b, string(r.Status))
	b = append(b, `,"http_status":`...)
	b = strconv.AppendInt(b, int64(r.HTTPStatus), 10)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(r.Attempts), 10)
	b = append(b, `,"error":`...)
	b = report.AppendJSONString(b, r.Error)
	b = append(b, `,"lines":`...)
	if r.Lines == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, l := range r.Lines {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(l), 10)
		}
		b = append(b, ']')
	}
	b = append(b, `,"reason":`...)
	b = report.AppendJSONString(b, r.Reason)
	return append(b, '}')
}
