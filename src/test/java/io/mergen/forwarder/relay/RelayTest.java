package io.mergen.forwarder.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.mergen.forwarder.metrics.ForwarderMetrics;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The relay's end of a connection, on real sockets: both sides close once neither can carry more bytes. */
class RelayTest {
    private MultiThreadIoEventLoopGroup group;
    private EventLoop loop;
    private Channel acceptor;
    private ServerSocket guestServer;
    private Socket clientPeer;
    private Socket guestPeer;

    @BeforeEach
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        loop = group.next();
        guestServer = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable closeable : new AutoCloseable[] {clientPeer, guestPeer, guestServer}) {
            if (closeable != null) {
                closeable.close();
            }
        }
        if (acceptor != null) {
            acceptor.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * Seen under load: the guest's input was already shut when the client's ended, but its shutdown event had not
     * reached the relay. The relay must still close both sides: each socket, shut both ways, would otherwise flag
     * EPOLLHUP on every epoll_wait and spin its event loop until the idle timeout.
     */
    @Test
    void closesBothWhenThePeersInputIsAlreadyShutWithoutItsEvent() throws Exception {
        Channel client = acceptedChannel();
        Channel guest = guestChannel();
        Relay relay = relay(client, guest);

        CompletableFuture<Void> ended = new CompletableFuture<>();
        loop.execute(() -> {
            relay.start();
            // Shutting the input directly fires no ChannelInputShutdownEvent: the state the relay was found in.
            ((DuplexChannel) guest).shutdownInput().addListener(shut -> {
                relay.inputEnded(client);
                ended.complete(null);
            });
        });
        ended.get(5, TimeUnit.SECONDS);

        assertThat(client.closeFuture().await(5, TimeUnit.SECONDS)).as("client closed").isTrue();
        assertThat(guest.closeFuture().await(5, TimeUnit.SECONDS)).as("guest closed").isTrue();
    }

    /** The ordinary order still half-closes: the client's end shuts the guest's output and nothing closes yet. */
    @Test
    void halfClosesWhileThePeerCanStillSend() throws Exception {
        Channel client = acceptedChannel();
        Channel guest = guestChannel();
        guestPeer.setSoTimeout(5_000);
        Relay relay = relay(client, guest);

        loop.execute(() -> {
            relay.start();
            relay.inputEnded(client);
        });

        assertThat(guestPeer.getInputStream().read()).as("the guest reads the FIN").isEqualTo(-1);
        assertThat(((DuplexChannel) guest).isOutputShutdown()).isTrue();
        assertThat(guest.isOpen()).as("the guest may still answer").isTrue();
        assertThat(client.isOpen()).isTrue();
    }

    /** A channel on the loop connected to the test's guest server, whose accepted end is {@code guestPeer}. */
    private Channel guestChannel() throws Exception {
        Channel guest = new Bootstrap().group(loop).channel(NioSocketChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(guestServer.getLocalSocketAddress()).sync().channel();
        guestPeer = guestServer.accept();
        return guest;
    }

    private static Relay relay(Channel client, Channel guest) {
        return new Relay(client, guest, new ConnectionFacts("test", client.remoteAddress()),
                new ForwarderMetrics().bytes("test", "vm"), Duration.ofHours(1));
    }

    /** A server channel on the loop, a client connecting to it, and the accepted channel. */
    private Channel acceptedChannel() throws Exception {
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        acceptor = new ServerBootstrap().group(loop).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext ctx) {
                        accepted.complete(ctx.channel());
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
        clientPeer = new Socket();
        clientPeer.connect(acceptor.localAddress());
        return accepted.get(5, TimeUnit.SECONDS);
    }
}
