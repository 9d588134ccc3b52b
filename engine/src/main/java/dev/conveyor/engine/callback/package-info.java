/**
 * The POSTs Conveyor owes on a tenant's behalf. {@link OutboundPost} is one (an {@code X-Callback-Url}
 * callback or a URL destination), stored on {@code conveyor.callbacks} before the invocation's final
 * status; {@link Destinations} builds the onSuccess/onFailure record for a topic or a URL;
 * {@link CallbackSender} makes one signed (HMAC-SHA256), allow-listed try; {@link CallbackDispatcher}
 * consumes the callbacks topic and retries with backoff, parking long waits on a retry tier.
 *
 * <p>May use: {@code api}, {@code config}, {@code consume}, {@code functions}, {@code invoke}
 * ({@code RetryAfter}), {@code kafka}, {@code observability}, {@code queue} ({@code InvocationCodec}),
 * {@code time}. Built on Vert.x core's HTTP client, the Vert.x Kafka client, the Kafka clients and
 * Jackson. It does not use {@code dispatch}, which uses it.
 */
package dev.conveyor.engine.callback;
