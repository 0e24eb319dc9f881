package metrics

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"dproc/internal/human"
)

// WriteStatusTable writes statuses to w as two aligned tables: one row per
// host (hostname, kernel, uptime, load, CPUs, memory and swap), then one row
// per filesystem of each host. A host whose Err is set has its error at the
// end of its row, after "-" in the columns it could not fill. Sizes are printed with binary units
// (KiB, MiB, GiB, ...). It returns the first error from w.
func WriteStatusTable(w io.Writer, statuses []HostStatus) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tHOSTNAME\tKERNEL\tUPTIME\tLOAD 1/5/15\tCPUS\tMEM USED\tMEM TOTAL\tSWAP USED\tSWAP TOTAL")
	for _, s := range statuses {
		if s.Hostname == "" {
			fmt.Fprintf(tw, "%s%s", s.Host, strings.Repeat("\t-", 9))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f %.2f %.2f\t%d\t%s\t%s\t%s\t%s",
				s.Host, oneLine(s.Hostname), oneLine(s.Kernel), formatUptime(s.Uptime), s.Load1, s.Load5, s.Load15, s.CPUs,
				human.Bytes(s.MemTotal-min(s.MemAvailable, s.MemTotal)), human.Bytes(s.MemTotal),
				human.Bytes(s.SwapTotal-min(s.SwapFree, s.SwapTotal)), human.Bytes(s.SwapTotal))
		}
		if s.Err != nil {
			// The error is the line's last cell, which tabwriter
			// leaves out of the column widths.
			fmt.Fprintf(tw, "\terror: %s", oneLine(s.Err.Error()))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	any := false
	for _, s := range statuses {
		any = any || len(s.Filesystems) > 0
	}
	if !any {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tMOUNT\tDEVICE\tSIZE\tUSED\tAVAIL\tUSE%")
	for _, s := range statuses {
		for _, f := range s.Filesystems {
			use := "-"
			if f.Used+f.Avail > 0 {
				// As df does: used over the space a user can have.
				use = fmt.Sprintf("%.0f%%", float64(f.Used)/float64(f.Used+f.Avail)*100)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Host, oneLine(f.Mount), oneLine(f.Device),
				human.Bytes(f.Size), human.Bytes(f.Used), human.Bytes(f.Avail), use)
		}
	}
	return tw.Flush()
}

// oneLine keeps a cell of the table on one line and out of the way of
// tabwriter's column separator.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s)
}

// formatUptime formats d as days, hours and minutes: "3d 04:05", or
// "04:05" under a day.
func formatUptime(d time.Duration) string {
	d = d.Truncate(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	if days > 0 {
		return fmt.Sprintf("%dd %02d:%02d", days, h, m)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}
