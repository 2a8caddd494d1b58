package group

import "testing"

// The expected partitions come from Java's String.hashCode by hand, as Kafka computes
// Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions (Utils.abs masks the sign bit).
func TestPartitionForMatchesKafka(t *testing.T) {
	for _, tc := range []struct {
		group string
		n     int32
		want  int32
		why   string
	}{
		{"", 50, 0, "the empty string hashes to 0"},
		{"a", 50, 47, "'a' = 97; 97 % 50 = 47"},
		{"ab", 50, 5, "97*31 + 98 = 3105; 3105 % 50 = 5"},
		{"abc", 50, 4, "(97*31 + 98)*31 + 99 = 96354; 96354 % 50 = 4"},
		{"Aa", 50, 12, "65*31 + 97 = 2112 (Java's famous collision with \"BB\"); 2112 % 50 = 12"},
		{"BB", 50, 12, "66*31 + 66 = 2112"},
		{"polygenelubricants", 50, 0, "hashes to Integer.MIN_VALUE; masking the sign bit gives 0 (Math.abs would stay negative)"},
		{"\U0001F600", 50, 49, "one supplementary character is the UTF-16 pair D83D DE00: 55357*31 + 56832 = 1772899; % 50 = 49"},
		{"abc", 1, 0, "one partition"},
	} {
		if got := PartitionFor(tc.group, tc.n); got != tc.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d (%s)", tc.group, tc.n, got, tc.want, tc.why)
		}
	}
	if h := javaStringHashCode("polygenelubricants"); h != -2147483648 {
		t.Fatalf("hashCode(polygenelubricants) = %d, want Integer.MIN_VALUE", h)
	}
}
