package controller

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// codedError is a Kafka error code with a message for the client. errors.As finds the
// *kerr.Error inside.
type codedError struct {
	code *kerr.Error
	msg  string
}

func (e *codedError) Error() string {
	if e.msg == "" {
		return e.code.Error()
	}
	return e.code.Error() + ": " + e.msg
}

func (e *codedError) Unwrap() error { return e.code }

func fail(code *kerr.Error, msg string) *codedError { return &codedError{code, msg} }

// toKafka turns any error from a decision into a Kafka error code and message: codes pass
// through; a context that ended is REQUEST_TIMED_OUT; anything else is UNKNOWN_SERVER_ERROR.
func toKafka(err error) (*kerr.Error, string) {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code, ce.msg
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke, ""
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return kerr.RequestTimedOut, err.Error()
	}
	return kerr.UnknownServerError, err.Error()
}
