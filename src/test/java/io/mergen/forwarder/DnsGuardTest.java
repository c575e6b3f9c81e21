package io.mergen.forwarder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

class DnsGuardTest {

    @Test
    void seesAndRefusesALookupOnTheWatchedThread() {
        String name = "dns-guard-" + System.nanoTime() + ".invalid";

        assertThat(DnsGuard.lookupsDuring(() -> assertThatExceptionOfType(UnknownHostException.class)
                .isThrownBy(() -> InetAddress.getByName(name))
                .withMessageContaining("refused")))
                .containsExactly(name);
    }

    @Test
    void leavesLiteralsAlone() {
        assertThat(DnsGuard.lookupsDuring(() -> {
            try {
                InetAddress.getByName("127.0.0.1");
            } catch (UnknownHostException e) {
                throw new AssertionError(e);
            }
        })).isEmpty();
    }
}
