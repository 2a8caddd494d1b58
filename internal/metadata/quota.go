package metadata

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// QuotaEntity names what a client quota applies to, as Kafka's ClientQuotaEntity: a user, a
// client id, or both; or, alone, a client IP address (connection_creation_rate). Each part is
// either named or the default ("<default>" in Kafka's tools); an empty, non-default part is
// absent.
type QuotaEntity struct {
	User          string `json:"user,omitempty"`
	UserDefault   bool   `json:"userDefault,omitempty"`
	ClientID      string `json:"clientId,omitempty"`
	ClientDefault bool   `json:"clientDefault,omitempty"`
	IP            string `json:"ip,omitempty"`
	IPDefault     bool   `json:"ipDefault,omitempty"`
}

// HasIP reports whether the entity names an IP address (or the default IP).
func (e QuotaEntity) HasIP() bool { return e.IP != "" || e.IPDefault }

// HasUser reports whether the entity names a user (or the default user).
func (e QuotaEntity) HasUser() bool { return e.User != "" || e.UserDefault }

// HasClient reports whether the entity names a client id (or the default client id).
func (e QuotaEntity) HasClient() bool { return e.ClientID != "" || e.ClientDefault }

// String is the entity as kafka-configs prints it ("user=alice,client-id=<default>").
func (e QuotaEntity) String() string {
	var parts []string
	if e.HasUser() {
		parts = append(parts, "user="+orDefault(e.User, e.UserDefault))
	}
	if e.HasClient() {
		parts = append(parts, "client-id="+orDefault(e.ClientID, e.ClientDefault))
	}
	if e.HasIP() {
		parts = append(parts, "ip="+orDefault(e.IP, e.IPDefault))
	}
	return strings.Join(parts, ",")
}

func orDefault(name string, def bool) string {
	if def {
		return "<default>"
	}
	return name
}

// QuotaConnectionCreationRate is the one quota of an IP entity (Kafka's IP connection rate
// quota, KIP-612): new connections a second from one address.
const QuotaConnectionCreationRate = "connection_creation_rate"

// ClientQuotaKeys are the quota keys Gregor stores (Kafka's QuotaConfigs): all but
// connection_creation_rate are for users and client ids, connection_creation_rate is for IP
// entities (the controller refuses other pairings; replay accepts any, as older logs may hold
// them).
var ClientQuotaKeys = map[string]bool{
	"producer_byte_rate":       true,
	"consumer_byte_rate":       true,
	"request_percentage":       true,
	"connection_creation_rate": true,
}

// ClientQuotaRecord sets one quota of an entity, or removes it (Kafka's ClientQuotaRecord).
type ClientQuotaRecord struct {
	Entity QuotaEntity `json:"entity"`
	Key    string      `json:"key"`
	Value  float64     `json:"value"`
	Remove bool        `json:"remove,omitempty"`
}

// RecordClientQuota is the ClientQuotaRecord's type; part of the on-disk format.
const RecordClientQuota RecordType = "client_quota"

func (ClientQuotaRecord) Type() RecordType { return RecordClientQuota }

func (r ClientQuotaRecord) applyTo(b *builder) error {
	e := r.Entity
	switch {
	case !e.HasUser() && !e.HasClient() && !e.HasIP():
		return errors.New("quota entity names neither a user, a client id nor an IP")
	case e.HasIP() && (e.HasUser() || e.HasClient()):
		return errors.New("quota entity names an IP with a user or client id")
	case e.UserDefault && e.User != "", e.ClientDefault && e.ClientID != "", e.IPDefault && e.IP != "":
		return errors.New("quota entity is both named and default")
	case !ClientQuotaKeys[r.Key]:
		return fmt.Errorf("unknown quota key %q", r.Key)
	}
	if !b.quotasOwned {
		b.img.ClientQuotas = maps.Clone(b.img.ClientQuotas)
		if b.img.ClientQuotas == nil {
			b.img.ClientQuotas = map[QuotaEntity]map[string]float64{}
		}
		b.quotasOwned = true
		b.ownedQuotas = map[QuotaEntity]bool{}
	}
	m := b.img.ClientQuotas[e]
	if !b.ownedQuotas[e] {
		m = maps.Clone(m)
		if m == nil {
			m = map[string]float64{}
		}
		b.ownedQuotas[e] = true
	}
	if r.Remove {
		delete(m, r.Key)
	} else {
		m[r.Key] = r.Value
	}
	if len(m) == 0 {
		delete(b.img.ClientQuotas, e)
	} else {
		b.img.ClientQuotas[e] = m
	}
	return nil
}

// QuotaFor returns the quota key applying to a connection of user and clientID, in Kafka's
// order of precedence (most specific first): user+client, user+default client, user,
// default user+client, default user+default client, default user, client, default client.
func (img *Image) QuotaFor(user, clientID, key string) (float64, bool) {
	if len(img.ClientQuotas) == 0 {
		return 0, false
	}
	var order []QuotaEntity
	if user != "" {
		order = append(order, QuotaEntity{User: user, ClientID: clientID}, QuotaEntity{User: user, ClientDefault: true}, QuotaEntity{User: user})
	}
	order = append(order, QuotaEntity{UserDefault: true, ClientID: clientID}, QuotaEntity{UserDefault: true, ClientDefault: true}, QuotaEntity{UserDefault: true})
	if clientID != "" {
		order = append(order, QuotaEntity{ClientID: clientID})
	}
	order = append(order, QuotaEntity{ClientDefault: true})
	for _, e := range order {
		if e.HasClient() && !e.ClientDefault && e.ClientID == "" {
			continue
		}
		if v, ok := img.ClientQuotas[e][key]; ok {
			return v, true
		}
	}
	return 0, false
}

// IPQuota returns the quota key applying to connections from ip: the address's own, else the
// default IP's (Kafka's ConnectionQuotas.connectionRateForIp).
func (img *Image) IPQuota(ip, key string) (float64, bool) {
	if len(img.ClientQuotas) == 0 {
		return 0, false
	}
	if v, ok := img.ClientQuotas[QuotaEntity{IP: ip}][key]; ok {
		return v, true
	}
	v, ok := img.ClientQuotas[QuotaEntity{IPDefault: true}][key]
	return v, ok
}

func appendQuotaRecords(recs []Record, q map[QuotaEntity]map[string]float64) []Record {
	ents := slices.SortedFunc(maps.Keys(q), func(a, b QuotaEntity) int { return strings.Compare(a.String(), b.String()) })
	for _, e := range ents {
		for _, k := range slices.Sorted(maps.Keys(q[e])) {
			recs = append(recs, ClientQuotaRecord{Entity: e, Key: k, Value: q[e][k]})
		}
	}
	return recs
}
