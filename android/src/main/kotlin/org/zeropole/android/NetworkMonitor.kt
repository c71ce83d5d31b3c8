package org.zeropole.android

import android.net.ConnectivityManager
import android.net.LinkAddress
import android.net.LinkProperties
import android.net.Network
import android.net.NetworkCapabilities
import org.zeropole.ffi.NetworkKind

/**
 * The default network, from `ConnectivityManager.registerDefaultNetworkCallback`
 * (DESIGN.md §7): reports its kind and whether it is metered when the default network
 * changes, when its capabilities change kind or metering, and when only its addresses
 * change (an IP switch on the same network: the node must redial). Losing the default
 * network reports `OFFLINE`.
 *
 * Cellular always counts as metered; Wi-Fi, Ethernet and other transports report `WIFI`
 * with `metered = !NET_CAPABILITY_NOT_METERED`; a network without
 * `NET_CAPABILITY_INTERNET` counts as offline.
 */
class NetworkMonitor(
    private val connectivity: ConnectivityManager,
    private val report: (kind: NetworkKind, metered: Boolean) -> Unit,
) : SignalMonitor {
    private val lock = Any()
    private var current: Network? = null
    private var last: Pair<NetworkKind, Boolean>? = null
    private var addresses: List<LinkAddress>? = null
    private var started = false

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) {
            onCapabilities(network, capabilities)
        }

        override fun onLinkPropertiesChanged(network: Network, linkProperties: LinkProperties) {
            onAddresses(network, linkProperties.linkAddresses)
        }

        override fun onLost(network: Network) {
            synchronized(lock) {
                if (network != current) return
                current = null
                addresses = null
                send(NetworkKind.OFFLINE to false)
            }
        }
    }

    override fun start() {
        synchronized(lock) {
            if (started) return
            started = true
            val network = connectivity.activeNetwork
            val capabilities = network?.let { connectivity.getNetworkCapabilities(it) }
            if (network != null && capabilities != null) {
                current = network
                addresses = connectivity.getLinkProperties(network)?.linkAddresses
            }
            send(classify(capabilities))
        }
        connectivity.registerDefaultNetworkCallback(callback)
    }

    override fun close() {
        synchronized(lock) {
            if (!started) return
            started = false
        }
        try {
            connectivity.unregisterNetworkCallback(callback)
        } catch (_: IllegalArgumentException) {
            // Never registered (start failed half-way): nothing to undo.
        }
    }

    private fun onCapabilities(network: Network, capabilities: NetworkCapabilities) {
        synchronized(lock) {
            if (!started) return
            val now = classify(capabilities)
            if (network != current) {
                current = network
                addresses = null
                send(now, force = true)
            } else {
                send(now)
            }
        }
    }

    private fun onAddresses(network: Network, now: List<LinkAddress>) {
        synchronized(lock) {
            if (!started || network != current) return
            val before = addresses
            addresses = now
            val reported = last
            if (before != null && before.toSet() != now.toSet() && reported != null) {
                // Same network, new address: the node's connections are bound to the old one.
                send(reported, force = true)
            }
        }
    }

    private fun send(now: Pair<NetworkKind, Boolean>, force: Boolean = false) {
        if (!force && now == last) return
        last = now
        report(now.first, now.second)
    }

    companion object {
        /** The kind and metering of a network with [capabilities] (`null`: none). */
        fun classify(capabilities: NetworkCapabilities?): Pair<NetworkKind, Boolean> {
            if (capabilities == null ||
                !capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            ) {
                return NetworkKind.OFFLINE to false
            }
            if (capabilities.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR)) {
                return NetworkKind.CELLULAR to true
            }
            val metered =
                !capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
            return NetworkKind.WIFI to metered
        }
    }
}
