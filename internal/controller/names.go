package controller

import (
	"fmt"
	"strings"
)

// maxTopicNameLength is Kafka's limit (Topic.MAX_NAME_LENGTH): 255 less room for a partition
// suffix in directory names.
const maxTopicNameLength = 249

// ValidateTopicName applies Kafka's topic name rules (org.apache.kafka.common.internals.Topic):
// not empty, not "." or "..", at most 249 characters, only ASCII letters, digits, '.', '_'
// and '-'. Names beginning with "__" (internal topics) are legal.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("Topic name is illegal, it can't be empty")
	case name == "." || name == "..":
		return fmt.Errorf("Topic name cannot be \".\" or \"..\"")
	case len(name) > maxTopicNameLength:
		return fmt.Errorf("Topic name is illegal, it can't be longer than %d characters, topic name: %s", maxTopicNameLength, name)
	}
	for i := 0; i < len(name); i++ {
		if !legalTopicChar(name[i]) {
			return fmt.Errorf("Topic name %q is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'", name)
		}
	}
	return nil
}

func legalTopicChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// Metric names replace '.' with '_', so two topics whose names differ only there would collide;
// Kafka refuses the second one.

func hasCollisionChars(name string) bool { return strings.ContainsAny(name, "._") }

func unifyCollisionChars(name string) string { return strings.ReplaceAll(name, ".", "_") }
