package dev.conveyor.bench;

import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The floor of storing before answering: a bare Vert.x server that writes each body to a Kafka
 * topic and answers 202 (with the gateway's body and headers) once the broker acknowledged it, and
 * does nothing else: no authentication, no limits, no headers carried, no tracing, no status. It is
 * what the receiver of Knative Eventing's Kafka Broker does per event (a Vert.x server and a
 * {@code KafkaProducer} on the same stack), with the gateway's producer settings: {@code acks=all},
 * idempotent, the gateway's {@code linger.ms}, 64 KiB batches, no compression, one partition (as one
 * tenant's invocations go to its lane's partition). One producer for the process, completions handed
 * back to the request's event loop.
 *
 * <p>Args: port, bootstrap servers, topic (created with 6 partitions if missing), linger.ms.
 */
public final class StoreServer extends VerticleBase {
  private final int port;
  private final KafkaProducer<String, byte[]> producer;
  private final String topic;

  StoreServer(int port, KafkaProducer<String, byte[]> producer, String topic) {
    this.port = port;
    this.producer = producer;
    this.topic = topic;
  }

  @Override
  public Future<?> start() {
    return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true)).requestHandler(req -> req.body().onSuccess(b -> {
      String id = UUID.randomUUID().toString();
      Context ctx = vertx.getOrCreateContext();
      producer.send(new ProducerRecord<>(topic, 0, id, b.getBytes()), (md, err) -> ctx.runOnContext(v -> {
        if (err != null) {
          req.response().setStatusCode(503).end();
          return;
        }
        req.response().setStatusCode(202).putHeader("content-type", "application/json")
            .putHeader("location", "/v1/invocations/" + id)
            .end("{\"id\":\"" + id + "\",\"status\":\"queued\",\"namespace\":\"bench\",\"function\":\"noop\",\"acceptedAt\":\"2026-01-01T00:00:00.000Z\"}");
      }));
    })).listen(port);
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String bootstrap = args[1];
    String topic = args[2];
    int lingerMs = Integer.parseInt(args[3]);
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, 6, (short) 1))).all().get();
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) throw e;
    }
    KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.<String, Object>of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ProducerConfig.ACKS_CONFIG, "all",
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
        ProducerConfig.LINGER_MS_CONFIG, lingerMs,
        ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024,
        ProducerConfig.COMPRESSION_TYPE_CONFIG, "none",
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
    producer.partitionsFor(topic); // metadata loaded before the first request
    Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setPreferNativeTransport(true));
    vertx.deployVerticle(() -> new StoreServer(port, producer, topic),
            new DeploymentOptions().setInstances(Runtime.getRuntime().availableProcessors()))
        .onSuccess(id -> System.out.println("store-only 202 server on :" + port))
        .onFailure(err -> {
          System.err.println("store-only server failed: " + err);
          System.exit(1);
        });
  }
}
