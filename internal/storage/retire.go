package storage

import (
	"errors"
	"os"
	"sync"
	"time"
)

// Timer is a pending call scheduled by LogConfig.AfterFunc. Stop reports whether it kept the
// call from running (false: it already ran or is running).
type Timer interface {
	Stop() bool
}

// realAfterFunc is the default LogConfig.AfterFunc.
func realAfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// retirement is a batch of segments taken out of the log, waiting for file.delete.delay.ms
// before their files are closed and removed.
type retirement struct {
	segs []*segment
	// names are the segments' files as they are now called: "<name>.deleted", or the live
	// name when the rename failed (startup must then not mistake them for segments: they
	// lie below the checkpointed log start offset and the next retention pass takes them).
	names []string
}

// retireState is what Log keeps of pending retirements.
//
// Lock order: retireMu comes after Log.mu; the timer callbacks take retireMu alone and do
// their file I/O without it.
type retireState struct {
	retireMu sync.Mutex
	// Guarded by retireMu.
	pending map[*retirement]Timer
	// retireClosed is set by Close and Delete: later retirements finish at once.
	retireClosed bool

	// retireWG counts scheduled retirements that have not finished, so that Close can wait
	// for callbacks already running.
	retireWG sync.WaitGroup
}

// retireLocked retires segments that the caller has already taken out of l.segments (under
// appendMu and mu): their files are renamed to *.deleted at once (Kafka's suffix), and closed and
// removed after file.delete.delay.ms, so that reads that already hold a Region of them finish.
//
// Because the live names are free when it returns, a replacement segment with the same base
// offset (the cleaner's swap) may take them right after. The caller holds appendMu and mu.
func (l *Log) retireLocked(segs []*segment) {
	if len(segs) == 0 {
		return
	}
	r := &retirement{segs: segs}
	for _, s := range segs {
		for _, suffix := range segmentSuffixes {
			from := s.path(suffix)
			to := from + deletedFileSuffix
			rename := l.fs.Rename
			if ix := s.indexOf(suffix); ix != nil {
				rename = func(_, to string) error { return ix.renameFile(l.fs, to) }
			}
			if err := rename(from, to); err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					l.logger.Warn("retire: rename failed; removing under the live name", "file", from, "err", err)
					r.names = append(r.names, from)
				}
				continue
			}
			r.names = append(r.names, to)
		}
		l.logger.Info("scheduled segment for deletion", "base_offset", s.baseOffset, "size", s.size,
			"delay_ms", l.cfg.FileDeleteDelayMs)
	}
	l.dirSyncNeeded = true

	l.retireMu.Lock()
	defer l.retireMu.Unlock()
	if l.retireClosed || l.cfg.FileDeleteDelayMs <= 0 {
		l.removeRetired(r)
		return
	}
	if l.pending == nil {
		l.pending = map[*retirement]Timer{}
	}
	l.retireWG.Add(1)
	l.pending[r] = l.cfg.AfterFunc(time.Duration(l.cfg.FileDeleteDelayMs)*time.Millisecond, func() {
		defer l.retireWG.Done()
		l.retireMu.Lock()
		_, mine := l.pending[r]
		delete(l.pending, r)
		l.retireMu.Unlock()
		if mine { // else Close or Delete took it
			l.removeRetired(r)
		}
	})
}

// removeRetired closes and removes the files of a retirement. It takes no lock.
func (l *Log) removeRetired(r *retirement) {
	for _, s := range r.segs {
		if err := s.close(); err != nil {
			l.logger.Warn("retire: closing segment", "base_offset", s.baseOffset, "err", err)
		}
	}
	for _, name := range r.names {
		if err := l.fs.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.logger.Warn("retire: removing file", "file", name, "err", err)
		}
	}
	for _, s := range r.segs {
		l.logger.Debug("deleted segment", "base_offset", s.baseOffset)
	}
}

// finishRetirements stops the delay of every pending retirement and, if remove is set,
// removes their files at once (Close); otherwise only closes them (Delete removes the whole
// directory). It waits for callbacks already running, so no timer outlives the log.
func (l *Log) finishRetirements(remove bool) {
	l.retireMu.Lock()
	l.retireClosed = true
	var stopped []*retirement
	for r, t := range l.pending {
		// A callback that already fired finds its retirement still pending and finishes it.
		if t.Stop() {
			stopped = append(stopped, r)
			delete(l.pending, r)
			l.retireWG.Done()
		}
	}
	l.retireMu.Unlock()
	for _, r := range stopped {
		if remove {
			l.removeRetired(r)
			continue
		}
		for _, s := range r.segs {
			s.close()
		}
	}
	l.retireWG.Wait()
}
