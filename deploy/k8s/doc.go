// Package k8s holds edabench's Kubernetes manifests (kustomize base,
// twins, brokers and overlays) and the test that builds every overlay with
// the kustomize library and decodes each object strictly into its
// Kubernetes type, or checks it against the operators' CRD schemas. It is
// a Go module of its own so that edabench's module does not require
// kustomize and the Kubernetes API types (as xk6-eda's does not require k6).
package k8s
