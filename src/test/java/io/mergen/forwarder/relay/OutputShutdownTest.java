package io.mergen.forwarder.relay;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.NotYetConnectedException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The relay's FIN on a real epoll socket: the peer reads every byte, then end of stream, and can still send. */
class OutputShutdownTest {
    private MultiThreadIoEventLoopGroup group;
    private Channel acceptor;
    private final CompletableFuture<Channel> accepted = new CompletableFuture<>();
    private final CompletableFuture<Object> outputShutdownEvent = new CompletableFuture<>();
    private final StringBuffer received = new StringBuffer();

    @BeforeEach
    void start() {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            assertThat(Epoll.isAvailable()).as("native epoll (CI=true forbids skipping)").isTrue();
        }
        assumeTrue(Epoll.isAvailable(), "native epoll is not available here: " + Epoll.unavailabilityCause());
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        acceptor = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                accepted.complete(ctx.channel());
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ByteBuf buf = (ByteBuf) msg;
                                received.append(buf.toString(US_ASCII));
                                buf.release();
                            }

                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof ChannelOutputShutdownEvent) {
                                    outputShutdownEvent.complete(evt);
                                }
                            }
                        });
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).syncUninterruptibly().channel();
    }

    @AfterEach
    void stop() {
        if (group != null) {
            acceptor.close().syncUninterruptibly();
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void thePeerReadsEveryByteThenEndOfStreamAndCanStillSend() throws Exception {
        try (Socket peer = new Socket()) {
            peer.connect((InetSocketAddress) acceptor.localAddress(), 5_000);
            peer.setSoTimeout(5_000);
            Channel channel = accepted.get(5, TimeUnit.SECONDS);

            CompletableFuture<ChannelFuture> shut = new CompletableFuture<>();
            channel.eventLoop().execute(() -> channel.writeAndFlush(Unpooled.copiedBuffer("last words", US_ASCII))
                    .addListener(written -> shut.complete(OutputShutdown.shutdown((DuplexChannel) channel))));
            ChannelFuture shutdown = shut.get(5, TimeUnit.SECONDS);

            assertThat(shutdown.isSuccess()).as("shutdown succeeded: %s", shutdown.cause()).isTrue();
            assertThat(((DuplexChannel) channel).isOutputShutdown()).isTrue();
            assertThat(channel.isActive()).as("still open for the peer's bytes").isTrue();
            // The relay shuts an output from the listener of its last write, as here: the direct path must apply.
            assertThat(outputShutdownEvent).as("Netty's shutdownOutput() was used").isNotDone();
            InputStream in = peer.getInputStream();
            assertThat(new String(in.readAllBytes(), US_ASCII)).isEqualTo("last words");

            OutputStream out = peer.getOutputStream();
            out.write("and an answer".getBytes(US_ASCII));
            out.flush();
            await().atMost(5, TimeUnit.SECONDS)
                    .until(() -> received.toString().equals("and an answer"));
        }
    }

    /**
     * Netty's own shutdownOutput() fires this event (after building an exception with a stack trace for writes
     * that may be queued); the direct shutdown(2) skips both when nothing is queued.
     */
    @Test
    void withNothingQueuedNettysShutdownPathIsSkipped() throws Exception {
        try (Socket peer = new Socket()) {
            peer.connect((InetSocketAddress) acceptor.localAddress(), 5_000);
            Channel channel = accepted.get(5, TimeUnit.SECONDS);

            CompletableFuture<ChannelFuture> shut = new CompletableFuture<>();
            channel.eventLoop().execute(() -> shut.complete(OutputShutdown.shutdown((DuplexChannel) channel)));
            assertThat(shut.get(5, TimeUnit.SECONDS).isSuccess()).isTrue();

            // Anything the loop fires after the shutdown has run by the time this task runs.
            CompletableFuture<Boolean> fired = new CompletableFuture<>();
            channel.eventLoop().execute(() -> fired.complete(outputShutdownEvent.isDone()));
            assertThat(fired.get(5, TimeUnit.SECONDS)).as("ChannelOutputShutdownEvent fired").isFalse();
            assertThat(((DuplexChannel) channel).isOutputShutdown()).isTrue();
        }
    }

    /**
     * Seen in the benchmark: wrk resets connections while the relay is half-closing them, and shutdown(2) then
     * fails with ENOTCONN, which Netty raises as an unchecked NotYetConnectedException. It must come back as a
     * failed future (the relay then closes both sides), not escape from the relay's listener.
     */
    @Test
    void aResetPeerGivesAFailedFutureInsteadOfAnException() throws Exception {
        Channel channel;
        CountDownLatch reset = new CountDownLatch(1);
        CompletableFuture<ChannelFuture> shut = new CompletableFuture<>();
        try (Socket peer = new Socket()) {
            peer.connect((InetSocketAddress) acceptor.localAddress(), 5_000);
            channel = accepted.get(5, TimeUnit.SECONDS);
            // The loop waits for the reset inside this task, so it cannot see the reset and close the channel first.
            channel.eventLoop().execute(() -> {
                try {
                    reset.await(5, TimeUnit.SECONDS);
                    shut.complete(OutputShutdown.shutdown((DuplexChannel) channel));
                } catch (Throwable e) {
                    shut.completeExceptionally(e);
                }
            });
            peer.setSoLinger(true, 0); // close() sends a reset, which loopback delivers before close() returns
        }
        reset.countDown();

        ChannelFuture shutdown = shut.get(5, TimeUnit.SECONDS);
        assertThat(shutdown.isSuccess()).isFalse();
        assertThat(shutdown.cause()).isInstanceOf(NotYetConnectedException.class);
    }
}
