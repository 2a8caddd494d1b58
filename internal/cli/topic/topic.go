// Package topic implements "gregor topic": create, list, describe and delete
// topics, alter their config overrides, and reassign their partitions, with
// kafka-topics' and kafka-reassign-partitions' flag names. One file per verb.
package topic

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// NewCommand returns the "topic" command and its verbs.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:     "topic",
		Aliases: []string{"topics"},
		Short:   "Create, list, describe, delete and alter the configs of topics",
		Long: `Create, list, describe and delete topics.

The flags follow kafka-topics.sh: --bootstrap-server, --topic, --partitions,
--replication-factor, --config key=value.`,
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(
		newCreateCommand(&cf),
		newListCommand(&cf),
		newDescribeCommand(&cf),
		newDeleteCommand(&cf),
		newAlterConfigCommand(&cf),
		newReassignCommand(&cf),
	)
	return cmd
}

// brokerError is an error the broker returned for one topic, with the
// broker's own message when it sent one. It prints as
// "TOPIC_ALREADY_EXISTS: Topic 'x' already exists." and unwraps to the
// kerr error, so errors.Is(err, kerr.TopicAlreadyExists) holds.
type brokerError struct {
	err error  // usually a *kerr.Error
	msg string // the response's ErrorMessage, possibly empty
}

func (e *brokerError) Error() string {
	var ke *kerr.Error
	if e.msg != "" && errors.As(e.err, &ke) {
		return ke.Message + ": " + e.msg
	}
	return e.err.Error()
}

func (e *brokerError) Unwrap() error { return e.err }

// topicError names topic in err, keeping the broker's message if any.
func topicError(topic string, err error, msg string) error {
	return clientflags.Explain("topic", topic, &brokerError{err: err, msg: msg})
}

// topicResult returns what the response of a CreateTopics or DeleteTopics of the single topic
// name says about it, or the error for a failed request (err) or a response that leaves the
// topic out; verb ("creating", "deleting") starts those errors.
func topicResult[R any](verb, name string, resp map[string]R, err error) (R, error) {
	if err != nil {
		var zero R
		return zero, fmt.Errorf("%s topic %q: %w", verb, name, err)
	}
	r, ok := resp[name]
	if !ok {
		return r, fmt.Errorf("%s topic %q: the broker's response does not mention it", verb, name)
	}
	return r, nil
}

// topicName picks the single topic a verb acts on from --topic or one
// positional argument.
func topicName(flag string, args []string) (string, error) {
	switch {
	case flag != "" && len(args) > 0 && args[0] != flag:
		return "", fmt.Errorf("topic given twice: --topic %q and argument %q", flag, args[0])
	case flag != "":
		return flag, nil
	case len(args) > 0:
		return args[0], nil
	}
	return "", errors.New("no topic: use --topic NAME")
}

// formatTopicID prints a topic ID the way Kafka's Uuid.toString does:
// URL-safe base64 without padding.
func formatTopicID(id kadm.TopicID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}
