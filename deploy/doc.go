// Package deploy holds how Portcullis is deployed: the CustomResourceDefinitions generated from
// api/v1alpha1 (deploy/crds) and the Helm chart (deploy/helm/portcullis); the Dockerfile lives
// at the repository root. The package has no code of its own. Its tests render the chart with
// the pinned helm and decode every manifest into its Kubernetes API type with unknown fields
// rejected, check the CRDs are current and structural, run `portcullis validate` on the
// chart's config, and hold the Dockerfile to its build contract.
package deploy
