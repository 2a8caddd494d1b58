package console

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/gregorhq/gregor/internal/records"
)

// Bounds of the record browser: one answer holds at most maxBrowseCount records, reads at
// most maxBrowseRead bytes of log (plus one batch larger than that, so that a big batch can
// still be shown), and shows at most maxFieldShown bytes of any key, value or header value.
const (
	defaultBrowseCount = 20
	maxBrowseCount     = 100
	maxBrowseRead      = 1 << 20
	maxFieldShown      = 1024
)

// Field is a key, value or header value as the browser shows it: Text when the bytes are
// printable UTF-8, else Hex; Null for a null field. Size is the full length; Truncated says
// only the first maxFieldShown bytes are shown.
type Field struct {
	Null      bool   `json:"null,omitempty"`
	Text      string `json:"text,omitempty"`
	Hex       string `json:"hex,omitempty"`
	Encoding  string `json:"encoding"`
	Size      int    `json:"size"`
	Truncated bool   `json:"truncated,omitempty"`
}

func fieldOf(b []byte) Field {
	if b == nil {
		return Field{Null: true, Encoding: "null", Size: -1}
	}
	f := Field{Size: len(b)}
	shown := b
	if len(shown) > maxFieldShown {
		shown, f.Truncated = shown[:maxFieldShown], true
		// Do not cut a UTF-8 sequence in two.
		for i := 0; i < utf8.UTFMax-1 && !utf8.Valid(shown); i++ {
			shown = shown[:len(shown)-1]
		}
	}
	if printable(shown) {
		f.Text, f.Encoding = string(shown), "text"
	} else {
		f.Hex, f.Encoding = hex.EncodeToString(b[:min(len(b), maxFieldShown)]), "hex"
	}
	return f
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// BrowsedHeader is one record header.
type BrowsedHeader struct {
	Key   string `json:"key"`
	Value Field  `json:"value"`
}

// BrowsedRecord is one record of the browser.
type BrowsedRecord struct {
	Offset int64 `json:"offset"`
	// Timestamp is ms since the epoch; TimestampType is CreateTime or LogAppendTime.
	Timestamp     int64           `json:"timestamp"`
	TimestampType string          `json:"timestamp_type"`
	Key           Field           `json:"key"`
	Value         Field           `json:"value"`
	Headers       []BrowsedHeader `json:"headers"`
}

// Browse is a page of a partition's records, read up to the high watermark (uncommitted
// transactional records included, control records left out).
type Browse struct {
	Topic          string          `json:"topic"`
	Partition      int32           `json:"partition"`
	LogStartOffset int64           `json:"log_start_offset"`
	HighWatermark  int64           `json:"high_watermark"`
	Offset         int64           `json:"offset"`
	Count          int             `json:"count"`
	Records        []BrowsedRecord `json:"records"`
	// NextOffset is where the next page starts.
	NextOffset int64 `json:"next_offset"`
}

func (c *Console) records(w http.ResponseWriter, r *http.Request) {
	topic := r.PathValue("topic")
	t := c.cfg.Image().Topics[topic]
	if t == nil {
		c.fail(w, http.StatusNotFound, "topic %q not found", topic)
		return
	}
	ps := r.PathValue("partition")
	pn, err := strconv.ParseInt(ps, 10, 32)
	if err != nil || pn < 0 {
		c.fail(w, http.StatusBadRequest, "partition: %q is not a partition number", ps)
		return
	}
	if int(pn) >= len(t.Partitions) {
		c.fail(w, http.StatusNotFound, "topic %q has no partition %d (it has %d)", topic, pn, len(t.Partitions))
		return
	}
	part, err := c.cfg.Replicas.Partition(topic, int32(pn))
	if err != nil {
		c.fail(w, http.StatusNotFound, "partition %s-%d is not hosted on this broker", topic, pn)
		return
	}
	count, msg := intParam(r, "count", defaultBrowseCount, 1, maxBrowseCount)
	if msg != "" {
		c.fail(w, http.StatusBadRequest, "%s", msg)
		return
	}
	start, hw := part.LogStartOffset(), part.HighWatermark()
	// Without an offset, the last count records.
	offset, msg := intParam(r, "offset", max(hw-count, start), start, hw)
	if msg != "" {
		c.fail(w, http.StatusBadRequest, "%s (the partition holds offsets %d to %d)", msg, start, hw-1)
		return
	}
	out := Browse{Topic: topic, Partition: int32(pn), LogStartOffset: start, HighWatermark: hw, Offset: offset,
		Count: int(count), Records: []BrowsedRecord{}, NextOffset: offset}
	limit := records.DecompressLimit(int(part.Config().MaxMessageBytes))
	read := int64(0)
	for pos := offset; len(out.Records) < int(count) && pos < hw && read < maxBrowseRead; {
		res, err := part.Read(pos, maxBrowseRead-read, true)
		if err != nil {
			c.fail(w, http.StatusInternalServerError, "reading %s-%d at %d: %v", topic, pn, pos, err)
			return
		}
		b, err := res.Region.ReadBytes()
		if err != nil {
			c.fail(w, http.StatusInternalServerError, "reading %s-%d at %d: %v", topic, pn, pos, err)
			return
		}
		if len(b) == 0 {
			break
		}
		read += int64(len(b))
		next, err := c.browseBatches(b, &out, pos, int(count), limit)
		if err != nil {
			c.fail(w, http.StatusInternalServerError, "decoding %s-%d at %d: %v", topic, pn, pos, err)
			return
		}
		if next <= pos {
			break
		}
		pos = next
	}
	c.writeJSON(w, http.StatusOK, out)
}

// browseBatches appends the records at or after from of the whole batches in b to out, up
// to count of them, and returns the offset after the last batch it walked.
func (c *Console) browseBatches(b []byte, out *Browse, from int64, count, limit int) (int64, error) {
	next := from
	for len(b) >= records.HeaderSize && len(out.Records) < count {
		h, err := records.ParseHeader(b)
		if err != nil || h.Size() > int64(len(b)) || h.Size() < records.HeaderSize {
			break
		}
		batch := b[:h.Size()]
		b = b[h.Size():]
		next = max(next, h.NextOffset())
		if h.Control() {
			out.NextOffset = max(out.NextOffset, h.NextOffset())
			continue
		}
		d, err := records.Decode(batch, limit)
		if err != nil {
			return next, err
		}
		err = d.ForEach(func(rec records.Record) bool {
			off := h.BaseOffset + int64(rec.OffsetDelta)
			if off < from || off >= out.HighWatermark {
				return true
			}
			br := BrowsedRecord{Offset: off, Timestamp: h.BaseTimestamp + rec.TimestampDelta, TimestampType: "CreateTime",
				Key: fieldOf(rec.Key), Value: fieldOf(rec.Value), Headers: []BrowsedHeader{}}
			if h.LogAppendTime() {
				br.Timestamp, br.TimestampType = h.MaxTimestamp, "LogAppendTime"
			}
			for _, hd := range rec.Headers {
				br.Headers = append(br.Headers, BrowsedHeader{Key: hd.Key, Value: fieldOf(hd.Value)})
			}
			out.Records = append(out.Records, br)
			out.NextOffset = off + 1
			return len(out.Records) < count
		})
		if err != nil {
			return next, err
		}
	}
	return next, nil
}
