package io.mergen.forwarder.netns;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

class TransportTest {
    @Test
    void detectsNativeEpollOnLinux() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "epoll needs Linux");

        Transport transport = Transport.detect();

        assertThat(transport.name()).isEqualTo("epoll");
        assertThat(transport.isNative()).isTrue();
        assertThat(transport.serverChannelClass()).isEqualTo(EpollServerSocketChannel.class);
    }

    @Test
    void nioIsTheFallback() {
        Transport transport = Transport.nio();

        assertThat(transport.name()).isEqualTo("nio");
        assertThat(transport.isNative()).isFalse();
        assertThat(transport.serverChannelClass()).isEqualTo(NioServerSocketChannel.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "nio"})
    void createsAnOpenUnregisteredSocketChannel(String name) {
        Transport transport = transport(name);

        Channel channel = transport.newSocketChannel();
        try {
            assertThat(channel).isInstanceOf(name.equals("epoll") ? EpollSocketChannel.class : NioSocketChannel.class);
            assertThat(channel.isOpen()).isTrue();
            assertThat(channel.isRegistered()).isFalse();
        } finally {
            channel.unsafe().closeForcibly();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "nio"})
    void itsPartsWorkTogetherOnLoopback(String name) throws Exception {
        Transport transport = transport(name);
        EventLoopGroup group = transport.newEventLoopGroup(1, "transport-test");
        try {
            Channel server = new ServerBootstrap().group(group).channel(transport.serverChannelClass())
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            ctx.writeAndFlush(Unpooled.copiedBuffer(Thread.currentThread().getName(), UTF_8));
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            StringBuffer received = new StringBuffer();
            Channel client = transport.newSocketChannel();
            client.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf buf = (ByteBuf) msg;
                    received.append(buf.toString(UTF_8));
                    buf.release();
                }
            });
            group.next().register(client).sync();
            client.connect(server.localAddress()).sync();

            await().untilAsserted(
                    () -> assertThat(received.toString()).startsWith("transport-test-"));
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void rejectsNegativeThreadCounts() {
        assertThatThrownBy(() -> Transport.nio().newEventLoopGroup(-1, "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threads: -1 (expected: >= 0)");
    }

    private static Transport transport(String name) {
        if (name.equals("epoll")) {
            assumeTrue(System.getProperty("os.name").startsWith("Linux"), "epoll needs Linux");
            return Transport.epoll();
        }
        return Transport.nio();
    }
}
