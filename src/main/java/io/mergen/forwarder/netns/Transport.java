package io.mergen.forwarder.netns;

import static java.util.Objects.requireNonNull;

import java.util.function.Supplier;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Netty transport chosen once: native epoll when available, NIO otherwise. */
public final class Transport {
    private static final Logger log = LoggerFactory.getLogger(Transport.class);

    private final String name;
    private final boolean isNative;
    private final Supplier<IoHandlerFactory> ioHandlerFactory;
    private final Class<? extends ServerChannel> serverChannelClass;
    private final Supplier<Channel> socketChannel;

    private Transport(String name, boolean isNative, Supplier<IoHandlerFactory> ioHandlerFactory,
            Class<? extends ServerChannel> serverChannelClass, Supplier<Channel> socketChannel) {
        this.name = name;
        this.isNative = isNative;
        this.ioHandlerFactory = ioHandlerFactory;
        this.serverChannelClass = serverChannelClass;
        this.socketChannel = socketChannel;
    }

    /** Picks epoll when its native library loads (this also loads it, off any event loop), NIO otherwise. */
    public static Transport detect() {
        if (Epoll.isAvailable()) {
            return epoll();
        }
        log.info("native epoll unavailable, using NIO: {}", String.valueOf(Epoll.unavailabilityCause()));
        return nio();
    }

    static Transport epoll() {
        Epoll.ensureAvailability();
        return new Transport("epoll", true, EpollIoHandler::newFactory, EpollServerSocketChannel.class,
                EpollSocketChannel::new);
    }

    static Transport nio() {
        return new Transport("nio", false, NioIoHandler::newFactory, NioServerSocketChannel.class,
                NioSocketChannel::new);
    }

    public boolean isNative() {
        return isNative;
    }

    /** Event loops on platform threads named {@code threadNamePrefix-<n>}; 0 threads means Netty's default. */
    public EventLoopGroup newEventLoopGroup(int threads, String threadNamePrefix) {
        requireNonNull(threadNamePrefix, "threadNamePrefix");
        if (threads < 0) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: >= 0)");
        }
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(threadNamePrefix),
                ioHandlerFactory.get());
    }

    public Class<? extends ServerChannel> serverChannelClass() {
        return serverChannelClass;
    }

    /**
     * Creates an unregistered client channel. Its socket (fd) is created now, in the calling thread's network
     * namespace, and stays in that namespace whatever thread later connects it.
     */
    public Channel newSocketChannel() {
        return socketChannel.get();
    }

    /** {@code "epoll"} or {@code "nio"}, for logs. */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
