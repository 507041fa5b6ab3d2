package bus

import "strings"

// MatchesBinding reports whether a publish with routing key key reaches a
// queue bound with any of bindings, by AMQP's topic-exchange rule ("*" is
// one dot-separated word, "#" zero or more). A driver whose broker has no
// exchanges (Kafka) routes with it, so every driver routes alike.
func MatchesBinding(bindings []string, key string) bool {
	for _, p := range bindings {
		if topicMatch(strings.Split(p, "."), strings.Split(key, ".")) {
			return true
		}
	}
	return false
}

func topicMatch(p, k []string) bool {
	switch {
	case len(p) == 0:
		return len(k) == 0
	case p[0] == "#":
		for i := 0; i <= len(k); i++ {
			if topicMatch(p[1:], k[i:]) {
				return true
			}
		}
		return false
	case len(k) == 0:
		return false
	case p[0] == "*" || p[0] == k[0]:
		return topicMatch(p[1:], k[1:])
	}
	return false
}
