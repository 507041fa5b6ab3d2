package results

import (
	"fmt"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/internal/twinkind"
)

// Backbone is the broker the run's EDA and hybrid twins ran over, or ""
// for a run that drove none of them (RR uses no broker: its runs belong to
// no backbone, and are the RR arm of every backbone's comparison). The
// name is environment.broker.name; a run that drove a broker twin without
// one is RabbitMQ's, the only backbone there was before --broker
// (brokernode.Default), whatever its environment.rabbitmq says.
func (s *Summary) Backbone() string {
	var names []string
	for n := range s.Twins {
		names = append(names, n)
	}
	var name string
	if s.Environment.Broker != nil {
		name = s.Environment.Broker.Name
	}
	return BackboneOf(names, name)
}

// BackboneOf is Backbone from the names of the twins a run drove and its
// environment.broker.name ("" when absent), for readers of the decoded
// JSON.
func BackboneOf(twins []string, brokerName string) string {
	for _, t := range twins {
		if twinkind.Of(t).UsesBroker() {
			if brokerName == "" {
				return brokernode.Default
			}
			return brokerName
		}
	}
	return ""
}

// BackboneVersion is the backbone's version as the run recorded it; ""
// when it recorded none.
func (s *Summary) BackboneVersion() string {
	if b := s.Environment.Broker; b != nil && b.Version != "" {
		return b.Version
	}
	if s.Backbone() == brokernode.Default {
		return s.Environment.RabbitMQ
	}
	return ""
}

// Deployment is the backbone with its cluster's size when it ran on one
// ("rabbitmq x3"), the backbone alone on one node (or a summary written
// before clusters); "" for RR alone.
func (s *Summary) Deployment() string {
	var nodes int
	if s.Environment.Broker != nil {
		nodes = s.Environment.Broker.Nodes
	}
	return DeploymentOf(s.Backbone(), nodes)
}

// DeploymentOf is Deployment from a backbone and a node count.
func DeploymentOf(backbone string, nodes int) string {
	if backbone == "" || nodes < 2 {
		return backbone
	}
	return fmt.Sprintf("%s x%d", backbone, nodes)
}

// TwinLabel names a twin with its backbone where runs on several backbones
// can appear together: "eda@kafka", "hybrid@rabbitmq"; RR, which uses no
// broker, and a twin with no backbone known keep their bare names. Given a
// Deployment, a cluster's twin reads "eda@rabbitmq x3".
func TwinLabel(twin, backbone string) string {
	if backbone == "" || !twinkind.Of(twin).UsesBroker() {
		return twin
	}
	return twin + "@" + backbone
}
