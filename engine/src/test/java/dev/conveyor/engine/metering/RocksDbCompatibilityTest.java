package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.AccessTarget;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The build pins a RocksDB newer than the one Kafka Streams was built against (its Java {@code get}
 * of a missing key no longer throws a C++ exception inside the JNI call). This reads Kafka Streams'
 * bytecode: every RocksDB method and field it refers to must exist in the RocksDB on the class path,
 * with the type it is called with, or a store would fail with a {@code NoSuchMethodError} when it
 * reaches that call.
 */
class RocksDbCompatibilityTest {
  /**
   * Kafka Streams' options adapter passes these on to RocksDB's column family options, which no
   * longer have them; only a user's {@code rocksdb.config.setter} calls them, and Conveyor sets none.
   */
  private static final Set<String> ADAPTER_ONLY = Set.of(
      "org.rocksdb.ColumnFamilyOptions.maxWriteBufferNumberToMaintain()",
      "org.rocksdb.ColumnFamilyOptions.setMaxWriteBufferNumberToMaintain(int)");

  private static boolean sameType(AccessTarget target, JavaMember member) {
    if (target instanceof AccessTarget.CodeUnitCallTarget call && member instanceof JavaCodeUnit unit) {
      return call.getRawReturnType().getName().equals(unit.getRawReturnType().getName());
    }
    if (target instanceof AccessTarget.FieldAccessTarget field && member instanceof JavaField f) {
      return field.getRawType().getName().equals(f.getRawType().getName());
    }
    return true;
  }

  @Test
  void everyRocksDbMemberKafkaStreamsCallsExists() {
    // the stores (state, state.internals, their metrics): where Kafka Streams' RocksDB calls are
    JavaClasses classes = new ClassFileImporter().importPackages("org.apache.kafka.streams.state", "org.rocksdb");
    Set<String> called = new TreeSet<>();
    Set<String> missing = new TreeSet<>();
    for (var c : classes) {
      if (!c.getPackageName().startsWith("org.apache.kafka.streams.state")) continue;
      for (JavaAccess<?> a : c.getAccessesFromSelf()) {
        var target = a.getTarget();
        if (!target.getOwner().getPackageName().startsWith("org.rocksdb")) continue;
        if (target.getName().equals("getClass")) continue; // Object's, called on an interface type
        String name = target.getFullName();
        called.add(name);
        var member = target.resolveMember();
        if (member.isEmpty()) {
          missing.add(name);
        } else if (!sameType(target, member.get())) { // the JVM links a call by its return type too
          missing.add(name + " of another type");
        }
      }
    }
    assertThat(called).as("Kafka Streams' RocksDB calls were read").hasSizeGreaterThan(100);
    assertThat(missing).as("RocksDB members Kafka Streams calls that this RocksDB lacks").isSubsetOf(ADAPTER_ONLY);
  }
}
