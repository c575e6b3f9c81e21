package io.mergen.forwarder.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Answers the admin endpoint's GET requests: /metrics, /healthz, /readyz, /routes, /connections[?vm=]. */
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final String TEXT = "text/plain; charset=utf-8";
    private static final String JSON = "application/json";
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final AdminModel model;

    AdminHandler(AdminModel model) {
        this.model = model;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (!HttpMethod.GET.equals(request.method()) && !HttpMethod.HEAD.equals(request.method())) {
            send(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, "only GET\n");
            return;
        }
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        switch (uri.path()) {
            case "/metrics" -> send(ctx, keepAlive, HttpResponseStatus.OK, PROMETHEUS_TEXT, model.metrics().get());
            case "/healthz" -> send(ctx, keepAlive, HttpResponseStatus.OK, TEXT, "ok\n");
            case "/readyz" -> {
                List<String> problems = model.notReady().get();
                if (problems.isEmpty()) {
                    send(ctx, keepAlive, HttpResponseStatus.OK, TEXT, "ready\n");
                } else {
                    send(ctx, keepAlive, HttpResponseStatus.SERVICE_UNAVAILABLE, TEXT,
                            String.join("\n", problems) + "\n");
                }
            }
            case "/routes" -> send(ctx, keepAlive, HttpResponseStatus.OK, JSON, json(model.routes().get()));
            case "/connections" -> {
                String vm = uri.parameters().getOrDefault("vm", List.of("")).getFirst();
                // Each connection is copied on its own event loop; answer when all copies are in.
                model.connections().apply(vm).whenComplete((list, error) -> ctx.executor().execute(() -> {
                    if (error != null) {
                        send(ctx, keepAlive, HttpResponseStatus.INTERNAL_SERVER_ERROR, TEXT, error + "\n");
                    } else {
                        send(ctx, keepAlive, HttpResponseStatus.OK, JSON, json(Map.of("connections", list)));
                    }
                }));
            }
            default -> send(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, TEXT,
                    "not found; try /metrics /healthz /readyz /routes /connections\n");
        }
    }

    private static String json(Object value) {
        try {
            return MAPPER.writeValueAsString(value) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void send(ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status,
                             String contentType, String body) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        HttpUtil.setContentLength(response, content.readableBytes());
        HttpUtil.setKeepAlive(response, keepAlive);
        var written = ctx.writeAndFlush(response);
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
