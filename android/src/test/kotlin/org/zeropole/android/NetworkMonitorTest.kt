package org.zeropole.android

import android.net.ConnectivityManager
import android.net.LinkAddress
import android.net.LinkProperties
import android.net.NetworkCapabilities
import java.net.InetAddress
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowNetwork
import org.robolectric.shadows.ShadowNetworkCapabilities
import org.zeropole.ffi.NetworkKind

@RunWith(RobolectricTestRunner::class)
class NetworkMonitorTest {
    private val app = RuntimeEnvironment.getApplication()
    private val connectivity = app.getSystemService(ConnectivityManager::class.java)
    private val reports = mutableListOf<Pair<NetworkKind, Boolean>>()
    private val monitor = NetworkMonitor(connectivity) { kind, metered -> reports += kind to metered }

    @After
    fun close() = monitor.close()

    private fun capabilities(transport: Int, unmetered: Boolean, internet: Boolean = true): NetworkCapabilities {
        val caps = ShadowNetworkCapabilities.newInstance()
        shadowOf(caps).addTransportType(transport)
        if (internet) shadowOf(caps).addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
        if (unmetered) shadowOf(caps).addCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
        return caps
    }

    private fun link(vararg addresses: String): LinkProperties {
        val link = LinkProperties()
        for (a in addresses) link.addLinkAddress(LinkAddress(InetAddress.getByName(a), 24))
        return link
    }

    private fun callback(): ConnectivityManager.NetworkCallback =
        shadowOf(connectivity).networkCallbacks.single()

    @Test
    fun reportsTheNetworkAtStartThenEveryChangeOfKindMeteringOrAddress() {
        val home = ShadowNetwork.newInstance(100)
        shadowOf(connectivity).setDefaultNetworkActive(true)
        shadowOf(connectivity).setNetworkCapabilities(connectivity.activeNetwork, capabilities(NetworkCapabilities.TRANSPORT_WIFI, unmetered = true))
        monitor.start()
        assertEquals(NetworkKind.WIFI to false, reports.single())

        val cb = callback()
        // The home Wi-Fi becomes the default network: a new network is reported even
        // though its kind is the same (the node's connections are bound to the old one).
        cb.onCapabilitiesChanged(home, capabilities(NetworkCapabilities.TRANSPORT_WIFI, unmetered = true))
        cb.onLinkPropertiesChanged(home, link("192.168.1.20"))
        assertEquals(2, reports.size)
        // Same capabilities again (signal strength updates): nothing.
        cb.onCapabilitiesChanged(home, capabilities(NetworkCapabilities.TRANSPORT_WIFI, unmetered = true))
        assertEquals(2, reports.size)
        // The hotspot turns metered.
        cb.onCapabilitiesChanged(home, capabilities(NetworkCapabilities.TRANSPORT_WIFI, unmetered = false))
        assertEquals(NetworkKind.WIFI to true, reports.last())
        // A new address on the same network (DHCP renumbering): reported again.
        cb.onLinkPropertiesChanged(home, link("192.168.1.77"))
        assertEquals(listOf(NetworkKind.WIFI to true, NetworkKind.WIFI to true), reports.takeLast(2))
        val beforeSameAddress = reports.size
        cb.onLinkPropertiesChanged(home, link("192.168.1.77"))
        assertEquals(beforeSameAddress, reports.size)

        // Walking out of Wi-Fi range: cellular becomes the default network (always metered).
        val cell = ShadowNetwork.newInstance(101)
        cb.onCapabilitiesChanged(cell, capabilities(NetworkCapabilities.TRANSPORT_CELLULAR, unmetered = true))
        assertEquals(NetworkKind.CELLULAR to true, reports.last())
        // The old network's loss is not the default network's.
        val count = reports.size
        cb.onLost(home)
        assertEquals(count, reports.size)
        cb.onLost(cell)
        assertEquals(NetworkKind.OFFLINE to false, reports.last())
    }

    @Test
    fun aNetworkWithoutInternetCountsAsOffline() {
        assertEquals(
            NetworkKind.OFFLINE to false,
            NetworkMonitor.classify(capabilities(NetworkCapabilities.TRANSPORT_WIFI, unmetered = true, internet = false)),
        )
        assertEquals(NetworkKind.OFFLINE to false, NetworkMonitor.classify(null))
        assertEquals(
            NetworkKind.WIFI to false,
            NetworkMonitor.classify(capabilities(NetworkCapabilities.TRANSPORT_ETHERNET, unmetered = true)),
        )
    }

    @Test
    fun closeUnregistersAndStopsReporting() {
        monitor.start()
        val cb = callback()
        monitor.close()
        assertTrue(shadowOf(connectivity).networkCallbacks.isEmpty())
        val count = reports.size
        cb.onCapabilitiesChanged(ShadowNetwork.newInstance(7), capabilities(NetworkCapabilities.TRANSPORT_CELLULAR, unmetered = false))
        assertEquals(count, reports.size)
    }
}
