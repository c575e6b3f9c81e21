package io.mergen.forwarder.relay;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The client connections currently open, for graceful shutdown: wait for them to finish, then close the rest. */
public final class ActiveConnections {
    private final ChannelGroup channels = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
    private volatile CompletableFuture<Void> drained;

    void add(Channel client) {
        channels.add(client);
        client.closeFuture().addListener(f -> {
            CompletableFuture<Void> waiting = drained;
            if (waiting != null && channels.isEmpty()) {
                waiting.complete(null);
            }
        });
    }

    public int count() {
        return channels.size();
    }

    /**
     * The open connections, each copied on its own event loop (the only thread that writes its facts), so the
     * admin endpoint never reads a connection half-updated.
     */
    public CompletableFuture<List<ConnectionSnapshot>> snapshot() {
        List<CompletableFuture<ConnectionSnapshot>> copies = new ArrayList<>();
        for (Channel channel : channels) {
            CompletableFuture<ConnectionSnapshot> copy = new CompletableFuture<>();
            channel.eventLoop().execute(() -> {
                ConnectionFacts facts = ConnectionFacts.of(channel);
                copy.complete(facts == null || !channel.isActive() ? null : ConnectionSnapshot.of(facts));
            });
            copies.add(copy);
        }
        return CompletableFuture.allOf(copies.toArray(CompletableFuture[]::new)).thenApply(done ->
                copies.stream().map(CompletableFuture::join).filter(Objects::nonNull).toList());
    }

    /** Waits until every open connection has finished by itself; false when the timeout came first. */
    public boolean awaitDrained(Duration timeout) throws InterruptedException {
        CompletableFuture<Void> waiting = new CompletableFuture<>();
        drained = waiting;
        if (channels.isEmpty()) {
            return true;
        }
        try {
            waiting.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return channels.isEmpty();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Closes what is still open, recording that the shutdown ended it. */
    public void closeAll() {
        for (Channel channel : channels) {
            channel.eventLoop().execute(() -> {
                ConnectionFacts facts = ConnectionFacts.of(channel);
                if (facts != null) {
                    facts.end(Outcome.SHUTDOWN, "forwarder shutting down");
                }
                channel.close();
            });
        }
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
