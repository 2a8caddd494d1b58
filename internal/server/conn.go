package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/gregorhq/gregor/internal/wire"
)

// outQueue bounds the replies waiting for the writer; a client that does not read its
// responses stops the reader, and so stops being served, instead of growing memory.
const outQueue = 64

// conn is one client connection.
type conn struct {
	srv *Server
	nc  net.Conn
	log *slog.Logger
	// out carries replies from the read goroutine to the write goroutine, in request order.
	// Only the read goroutine sends and closes it.
	out chan outgoing
	// done is closed by the write goroutine when it stops, so the reader does not block on a
	// dead writer.
	done chan struct{}
}

// outgoing is one response frame: head holds the size, header and (for kmsg replies) the body;
// chunks follow it.
type outgoing struct {
	head   []byte
	chunks []wire.Chunk
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		srv:  s,
		nc:   nc,
		log:  s.log.With("remote", nc.RemoteAddr().String()),
		out:  make(chan outgoing, outQueue),
		done: make(chan struct{}),
	}
}

// stopReading interrupts a read blocked on the next frame; the request being handled, if any,
// finishes and is answered.
func (c *conn) stopReading() { c.nc.SetReadDeadline(time.Now()) }

func (c *conn) readLoop() {
	defer close(c.out)
	r := bufio.NewReaderSize(c.nc, 32<<10)
	for {
		frame, err := wire.ReadFrame(r, c.srv.cfg.MaxRequestSize)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrUnexpectedEOF) && !isTimeout(err) {
				c.log.Info("closing connection", "err", err)
			}
			return
		}
		h, body, err := wire.ParseHeader(frame)
		if err != nil {
			c.log.Info("closing connection", "err", err)
			return
		}
		reply, err := c.srv.cfg.Registry.Dispatch(c.srv.ctx, h, body, c.nc.RemoteAddr())
		if err != nil {
			c.log.Info("closing connection", "api", h.APIKey, "version", h.APIVersion, "err", err)
			return
		}
		var o outgoing
		switch {
		case reply.Msg != nil:
			o.head = wire.AppendResponse(nil, h, reply.Msg)
		case reply.Chunks != nil:
			size := int64(0)
			for _, ch := range reply.Chunks {
				size += ch.Len()
			}
			head := wire.AppendResponseHeader(make([]byte, 4, 16), h)
			size += int64(len(head) - 4)
			head[0], head[1], head[2], head[3] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
			o.head, o.chunks = head, reply.Chunks
		default:
			continue // acks=0 produce: no response
		}
		select {
		case c.out <- o:
		case <-c.done:
			return
		}
	}
}

func (c *conn) writeLoop() {
	defer func() {
		close(c.done)
		c.nc.Close()
		// Let the reader see the closed socket and finish.
		for range c.out {
		}
		c.srv.removeConn(c)
	}()
	var bufs net.Buffers
	for o := range c.out {
		// Gather every reply already queued into one writev, up to the first file region.
		bufs = append(bufs[:0], o.head)
		pending := o.chunks
	gather:
		for len(pending) == 0 {
			select {
			case next, ok := <-c.out:
				if !ok {
					break gather
				}
				bufs = append(bufs, next.head)
				pending = next.chunks
			default:
				break gather
			}
		}
		for len(pending) > 0 && pending[0].File == nil {
			bufs = append(bufs, pending[0].Bytes)
			pending = pending[1:]
		}
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.log.Debug("write failed", "err", err)
			return
		}
		if err := c.writeChunks(pending); err != nil {
			c.log.Debug("write failed", "err", err)
			return
		}
	}
}

// writeChunks writes chunks in order, file regions with sendfile where possible.
func (c *conn) writeChunks(chunks []wire.Chunk) error {
	for _, ch := range chunks {
		var err error
		if ch.File != nil {
			err = writeRegion(c.nc, ch.File, ch.Pos, ch.Size)
		} else {
			_, err = c.nc.Write(ch.Bytes)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
