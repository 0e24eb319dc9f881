package progress

import "bytes"

// Write writes p to the display's writer without breaking the display:
// on a terminal, whole lines are printed above the host lines and the
// bar, at the next redraw; in text mode they are written between the
// progress lines. Text after the last newline is kept until the next
// newline, or until Close, which ends it with one. With the display off,
// or once it is closed, p goes straight to the writer. Use the Display
// as the run's dispatch.RunOptions.Stderr, and for any message printed
// while it runs, so that nothing else writes to its terminal meanwhile.
func (d *Display) Write(p []byte) (int, error) {
	if d.mode == modeOff {
		return d.w.Write(p)
	}
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if d.wclosed {
		return d.w.Write(p)
	}
	d.partial = append(d.partial, p...)
	i := bytes.LastIndexByte(d.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	lines := bytes.Clone(d.partial[:i+1])
	d.partial = append(d.partial[:0], d.partial[i+1:]...)
	if err := d.emitLines(lines); err != nil {
		return 0, err
	}
	return len(p), nil
}

// emitLines writes whole lines above the live display, or after the
// pending progress lines in text mode; d.lmu is held.
func (d *Display) emitLines(lines []byte) error {
	if d.mode == modeLive {
		// Once Close began, mpb may have drawn its last frame and would
		// not print them: such lines wait for Close.
		if d.stopping {
			d.late = append(d.late, lines...)
		} else if _, err := d.p.Write(lines); err != nil {
			d.late = append(d.late, lines...)
		}
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.writePending()
	_, err := d.w.Write(lines)
	return err
}

// endPartial writes, once nothing is drawn any more, the lines that came
// too late for the display and what Write kept after the last newline,
// ended with a newline; later Writes go straight to the writer.
func (d *Display) endPartial() error {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	d.wclosed = true
	rest := d.late
	if len(d.partial) > 0 {
		rest = append(append(rest, d.partial...), '\n')
	}
	d.late, d.partial = nil, nil
	if len(rest) == 0 {
		return nil
	}
	_, err := d.w.Write(rest)
	return err
}
