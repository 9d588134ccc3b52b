/**
 * Functions discovered from Knative Serving. {@link KnativeDiscovery} watches the configured namespaces'
 * Services and Revisions with informers (no API call per request) and resolves {@code namespace/name} to
 * a target: the cluster-local URL, the revisions carrying traffic, their ready replicas, concurrency,
 * timeout and memory, the CA of their TLS, and the delivery policy of the Service's
 * {@code conveyor.dev/...} annotations. {@link KnativeService} and {@link KnativeRevision} are the custom
 * resources, typed as far as Conveyor reads them.
 *
 * <p>May use: {@code config}, {@code functions} (it is a {@code FunctionRegistry.Source}), {@code time},
 * and {@code dev.conveyor.config} (binding the annotations). Built on fabric8's Kubernetes client and
 * Jackson.
 */
package dev.conveyor.engine.knative;
